// Following one job live: its event stream from the first event, then its end.
import {useEffect, useState} from 'preact/hooks';
import type {Job, JobEvent} from './types';

export interface Progress {
  phase?: string;
  percent?: number;
  message?: string;
}

export interface JobFollow {
  events: JobEvent[];
  progress: Progress | undefined;
  job: Job | undefined;  // the final state, once ended
  done: boolean;
}

const maxEvents = 2000;

export function useJobStream(jobId: string | undefined): JobFollow {
  const [state, setState] = useState<JobFollow>({events: [], progress: undefined, job: undefined, done: false});
  useEffect(() => {
    setState({events: [], progress: undefined, job: undefined, done: false});
    if (!jobId) return;
    const stream = new EventSource(`/api/v1/jobs/${encodeURIComponent(jobId)}/events/stream`);
    let pending: JobEvent[] = [];
    let frame = 0;
    // Many events a second (an install's progress) are drawn once per frame.
    const flush = () => {
      frame = 0;
      const batch = pending;
      pending = [];
      setState((previous) => {
        let progress = previous.progress;
        for (const event of batch) {
          if (event.kind === 'progress' && event.data && typeof event.data === 'object') progress = event.data as Progress;
        }
        return {...previous, progress, events: [...previous.events, ...batch].slice(-maxEvents)};
      });
    };
    const onEvent = (message: MessageEvent<string>) => {
      try {
        pending.push(JSON.parse(message.data) as JobEvent);
      } catch {
        return;
      }
      if (!frame) frame = requestAnimationFrame(flush);
    };
    for (const kind of ['progress', 'log', 'step', 'state', 'result', 'error', 'attempt', 'message']) {
      stream.addEventListener(kind, onEvent as EventListener);
    }
    stream.onmessage = onEvent;
    stream.addEventListener('end', (message) => {
      stream.close();
      if (frame) cancelAnimationFrame(frame);
      flush();
      const job = JSON.parse((message as MessageEvent<string>).data) as Job;
      setState((previous) => ({...previous, job, done: true,
                               progress: job.state === 'succeeded' ? {...previous.progress, percent: 100} : previous.progress}));
    });
    return () => {
      stream.close();
      if (frame) cancelAnimationFrame(frame);
    };
  }, [jobId]);
  return state;
}
