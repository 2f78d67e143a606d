// The console's lines on the page. A busy server prints 20,000 lines a second: lines are
// queued as text and drawn once per animation frame as one element per run of lines (a
// frame's worth of output is one text node, not hundreds of elements to lay out), the oldest
// runs removed past the cap, and the view follows the end only while the reader is there.
interface Run {
  node: HTMLElement;
  lines: number;
}

export class ConsoleBuffer {
  private pending: {text: string; error: boolean}[] = [];
  private blocks: HTMLElement[] = [];  // commands and notes, drawn in order with the lines
  private order: ('line' | 'block')[] = [];
  private frame = 0;
  private runs: Run[] = [];
  private count = 0;

  constructor(private readonly box: HTMLElement, private readonly cap: number) {}

  line(text: string, error = false) {
    this.pending.push({text, error});
    this.order.push('line');
    // Lines that would be dropped before being drawn are not kept.
    if (this.pending.length > this.cap * 2) this.trimPending();
    this.schedule();
  }

  command(command: string, output: string, mine: boolean, actor?: string) {
    const node = document.createElement('div');
    node.className = 'command';
    const head = document.createElement('div');
    head.className = 'prompt';
    head.textContent = `${mine ? '' : `${actor ?? 'someone'}: `}] ${command}`;
    node.append(head);
    if (output) {
      const body = document.createElement('pre');
      body.textContent = output;
      node.append(body);
    }
    this.block(node);
  }

  note(text: string) {
    const node = document.createElement('div');
    node.className = 'note';
    node.textContent = text;
    this.block(node);
  }

  dispose() {
    if (this.frame) cancelAnimationFrame(this.frame);
    this.pending = [];
    this.blocks = [];
    this.order = [];
  }

  // Lines on the page now.
  get size(): number {
    return this.count;
  }

  private block(node: HTMLElement) {
    this.blocks.push(node);
    this.order.push('block');
    this.schedule();
  }

  private schedule() {
    if (!this.frame) this.frame = requestAnimationFrame(() => this.flush());
  }

  private trimPending() {
    const drop = this.pending.length - this.cap;
    this.pending.splice(0, drop);
    // Keep `order` consistent: drop the same number of leading 'line' marks.
    let left = drop;
    this.order = this.order.filter((kind) => kind !== 'line' || left-- <= 0);
  }

  private flush() {
    this.frame = 0;
    const box = this.box;
    const atEnd = box.scrollHeight - box.scrollTop - box.clientHeight < 40;
    const fragment = document.createDocumentFragment();
    let run: string[] = [];
    let runError = false;
    let line = 0;
    let block = 0;
    const close = () => {
      if (!run.length) return;
      const node = document.createElement('div');
      node.className = runError ? 'run stderr' : 'run';
      node.textContent = run.join('\n');
      fragment.append(node);
      this.runs.push({node, lines: run.length});
      this.count += run.length;
      run = [];
    };
    for (const kind of this.order) {
      if (kind === 'block') {
        close();
        fragment.append(this.blocks[block++]);
        continue;
      }
      const next = this.pending[line++];
      if (next.error !== runError) close();
      runError = next.error;
      run.push(next.text);
    }
    close();
    this.pending = [];
    this.blocks = [];
    this.order = [];
    box.append(fragment);
    while (this.count > this.cap && this.runs.length > 1) {
      const oldest = this.runs.shift()!;
      // Commands and notes before the oldest run go with it.
      while (box.firstChild && box.firstChild !== oldest.node) box.firstChild.remove();
      oldest.node.remove();
      this.count -= oldest.lines;
    }
    if (atEnd) box.scrollTop = box.scrollHeight;
  }
}

// Commands sent, newest last; ArrowUp/ArrowDown walk them, keeping what was being typed.
export class CommandHistory {
  private items: string[] = [];
  private position = 0;
  private draft = '';

  constructor(private readonly limit = 100) {}

  push(command: string) {
    if (this.items[this.items.length - 1] !== command) this.items.push(command);
    if (this.items.length > this.limit) this.items.shift();
    this.position = this.items.length;
    this.draft = '';
  }

  // step -1: older, +1: newer. Returns what the input shows.
  move(step: number, current: string): string {
    if (this.position === this.items.length) this.draft = current;
    this.position = Math.max(0, Math.min(this.items.length, this.position + step));
    return this.position === this.items.length ? this.draft : this.items[this.position];
  }
}
