// The console's lines on the page. A busy server prints thousands of lines a second: lines
// are queued and drawn once per animation frame as one fragment, the oldest removed past the
// cap, and the view follows the end only while the reader is at the end.
export class ConsoleBuffer {
  private queue: HTMLElement[] = [];
  private frame = 0;
  private count = 0;

  constructor(private readonly box: HTMLElement, private readonly cap: number) {}

  line(text: string, error = false) {
    const node = document.createElement('div');
    node.textContent = text;
    if (error) node.className = 'stderr';
    this.enqueue(node);
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
    this.enqueue(node);
  }

  note(text: string) {
    const node = document.createElement('div');
    node.className = 'note';
    node.textContent = text;
    this.enqueue(node);
  }

  dispose() {
    if (this.frame) cancelAnimationFrame(this.frame);
    this.queue = [];
  }

  get size(): number {
    return this.count;
  }

  private enqueue(node: HTMLElement) {
    this.queue.push(node);
    // Lines that would be dropped before being drawn are not kept.
    if (this.queue.length > this.cap) this.queue.splice(0, this.queue.length - this.cap);
    if (!this.frame) this.frame = requestAnimationFrame(() => this.flush());
  }

  private flush() {
    this.frame = 0;
    const box = this.box;
    const atEnd = box.scrollHeight - box.scrollTop - box.clientHeight < 40;
    const fragment = document.createDocumentFragment();
    fragment.append(...this.queue);
    this.count += this.queue.length;
    this.queue = [];
    box.append(fragment);
    while (this.count > this.cap && box.firstChild) {
      box.firstChild.remove();
      this.count--;
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
