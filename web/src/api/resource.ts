// Loading what a page shows, and loading it again when the live stream says it changed.
import {useEffect, useRef, useState} from 'preact/hooks';
import {ApiError} from './client';
import {changes, type Kind} from './live';

export interface Resource<T> {
  data: T | undefined;
  error: ApiError | undefined;
  loading: boolean;
  reload: () => void;
}

// Runs `load` now, when `deps` change, and (at most every 300 ms) when any of `live` changes.
export function useResource<T>(load: (signal: AbortSignal) => Promise<T>, deps: unknown[],
                               live: Kind[] = []): Resource<T> {
  const [state, setState] = useState<{data?: T; error?: ApiError; loading: boolean}>({loading: true});
  const [tick, setTick] = useState(0);
  const liveTick = live.map((kind) => changes[kind].value).join(',');
  const last = useRef(0);
  const [debounced, setDebounced] = useState(liveTick);
  useEffect(() => {
    const wait = Math.max(0, 300 - (Date.now() - last.current));
    const timer = setTimeout(() => setDebounced(liveTick), wait);
    return () => clearTimeout(timer);
  }, [liveTick]);
  useEffect(() => {
    const controller = new AbortController();
    last.current = Date.now();
    setState((previous) => ({...previous, loading: true}));
    load(controller.signal).then(
        (data) => setState({data, loading: false}),
        (error) => {
          if ((error as Error).name === 'AbortError') return;
          setState((previous) => ({data: previous.data, loading: false,
                                   error: error instanceof ApiError ? error : new ApiError(0, 'UNKNOWN', String(error))}));
        });
    return () => controller.abort();
  }, [...deps, tick, debounced]);
  return {...state, reload: () => setTick((n) => n + 1)} as Resource<T>;
}

// Calls `tick` every `ms` while the component is shown and the tab is visible.
export function useInterval(tick: () => void, ms: number) {
  const latest = useRef(tick);
  latest.current = tick;
  useEffect(() => {
    const timer = setInterval(() => {
      if (document.visibilityState === 'visible') latest.current();
    }, ms);
    return () => clearInterval(timer);
  }, [ms]);
}
