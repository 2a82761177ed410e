import * as vscode from 'vscode';
import { Collector, CaptureContext } from './context';

/** Terminals opened / closed (no names, no commands, no output). */
export class TerminalCollector extends Collector {
  private readonly opened = new WeakMap<vscode.Terminal, number>();
  constructor(ctx: CaptureContext) {
    super(ctx);
    this.subs.push(
      vscode.window.onDidOpenTerminal((t) => {
        this.opened.set(t, Date.now());
        ctx.record('terminal.open', { count: vscode.window.terminals.length });
      }),
      vscode.window.onDidCloseTerminal((t) => {
        const at = this.opened.get(t);
        ctx.record('terminal.close', { exit_code: t.exitStatus?.code ?? null, ...(at ? { duration_ms: Date.now() - at } : {}) });
      }),
    );
  }
}

/** Tasks started / ended with exit code; task source and type, and the name only with telemetrySink.taskLabels. */
export class TaskCollector extends Collector {
  private readonly started = new WeakMap<vscode.TaskExecution, number>();
  constructor(ctx: CaptureContext) {
    super(ctx);
    const info = (t: vscode.Task): Record<string, unknown> => ({ ...(ctx.settings().taskLabels ? { name: t.name } : {}), source: t.source, kind: t.definition.type });
    this.subs.push(
      vscode.tasks.onDidStartTaskProcess((e) => {
        this.started.set(e.execution, Date.now());
        ctx.record('task.start', info(e.execution.task));
      }),
      vscode.tasks.onDidEndTaskProcess((e) => {
        const at = this.started.get(e.execution);
        ctx.record('task.end', { ...info(e.execution.task), exit_code: e.exitCode ?? null, ...(at ? { duration_ms: Date.now() - at } : {}) });
      }),
    );
  }
}

/** Debug sessions started / ended. */
export class DebugCollector extends Collector {
  private readonly started = new Map<string, number>();
  constructor(ctx: CaptureContext) {
    super(ctx);
    this.subs.push(
      vscode.debug.onDidStartDebugSession((s) => {
        this.started.set(s.id, Date.now());
        ctx.record('debug.start', { type: s.type });
      }),
      vscode.debug.onDidTerminateDebugSession((s) => {
        const at = this.started.get(s.id);
        this.started.delete(s.id);
        ctx.record('debug.end', { type: s.type, ...(at ? { duration_ms: Date.now() - at } : {}) });
      }),
    );
  }
}
