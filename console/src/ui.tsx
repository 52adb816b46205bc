// What every page shares: loading states, problems as the API said them,
// and actions that show their progress and their outcome.
import {
  cloneElement,
  useCallback,
  useEffect,
  useId,
  useRef,
  useState,
  type ReactElement,
  type ReactNode,
} from "react";
import { ProblemError, type Problem } from "./api/client";

export function Loading({ what }: { what: string }) {
  return (
    <p role="status" aria-live="polite" className="loading">
      Loading {what}…
    </p>
  );
}

/** A problem detail, as the API answered it: title, status, code, detail
 *  and each field's message. */
export function ProblemView({ problem }: { problem: Problem }) {
  return (
    <div role="alert" className="problem">
      <p>
        <strong>{problem.title}</strong>{" "}
        <span className="code">
          {String(problem.status)} {problem.code}
        </span>
      </p>
      {problem.detail && <p>{problem.detail}</p>}
      {problem.errors && problem.errors.length > 0 && (
        <ul>
          {problem.errors.map((error) => (
            <li key={error.field}>
              <code>{error.field}</code>: {error.message}
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}

function asProblem(err: unknown): Problem {
  if (err instanceof ProblemError) return err.problem;
  return {
    type: "about:blank",
    title: "The console failed",
    status: 0,
    code: "INTERNAL",
    detail: err instanceof Error ? err.message : String(err),
  };
}

export type Loaded<T> = { state: "loading" } | { state: "failed"; problem: Problem } | { state: "ready"; data: T };

/** Loads what a page shows; `reload` fetches it again (after an action). */
export function useLoad<T>(load: () => Promise<T>, deps: unknown[]): [Loaded<T>, () => void] {
  const [loaded, setLoaded] = useState<Loaded<T>>({ state: "loading" });
  const [round, setRound] = useState(0);
  const shownRound = useRef(round);
  useEffect(() => {
    let live = true;
    // A reload after an action keeps showing what it had until the new
    // answer is in; a change of what to load starts over.
    const reloading = shownRound.current !== round;
    shownRound.current = round;
    setLoaded((previous) => (reloading && previous.state === "ready" ? previous : { state: "loading" }));
    load().then(
      (data) => live && setLoaded({ state: "ready", data }),
      (err) => live && setLoaded({ state: "failed", problem: asProblem(err) }),
    );
    return () => {
      live = false;
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [...deps, round]);
  return [loaded, useCallback(() => setRound((n) => n + 1), [])];
}

/** Renders a load: its loading state, its problem, or `children` of its data. */
export function Show<T>({
  loaded,
  what,
  children,
}: {
  loaded: Loaded<T>;
  what: string;
  children: (data: T) => ReactNode;
}) {
  if (loaded.state === "loading") return <Loading what={what} />;
  if (loaded.state === "failed") return <ProblemView problem={loaded.problem} />;
  return <>{children(loaded.data)}</>;
}

export type Action = {
  running: boolean;
  problem: Problem | null;
  done: string | null;
  run: (work: () => Promise<string>) => Promise<boolean>;
};

/** One form's action: running while it runs, then what it did or the problem. */
export function useAction(): Action {
  const [running, setRunning] = useState(false);
  const [problem, setProblem] = useState<Problem | null>(null);
  const [done, setDone] = useState<string | null>(null);
  const run = useCallback(async (work: () => Promise<string>) => {
    setRunning(true);
    setProblem(null);
    setDone(null);
    try {
      setDone(await work());
      return true;
    } catch (err) {
      setProblem(asProblem(err));
      return false;
    } finally {
      setRunning(false);
    }
  }, []);
  return { running, problem, done, run };
}

/** The outcome of an action, announced to screen readers. */
export function Outcome({ action }: { action: Action }) {
  return (
    <div aria-live="polite">
      {action.running && <p role="status">Working…</p>}
      {action.problem && <ProblemView problem={action.problem} />}
      {action.done && (
        <p role="status" className="done">
          {action.done}
        </p>
      )}
    </div>
  );
}

/** A labelled control; its hint describes it (`aria-describedby`) rather
 *  than being part of its name. */
export function Field({ label, children, hint }: { label: string; children: ReactElement; hint?: string }) {
  const id = useId();
  const control = cloneElement(children as ReactElement<{ id?: string; "aria-describedby"?: string }>, {
    id,
    "aria-describedby": hint ? `${id}-hint` : undefined,
  });
  return (
    <div className="field">
      <label htmlFor={id}>{label}</label>
      {control}
      {hint && <small id={`${id}-hint`}>{hint}</small>}
    </div>
  );
}

/** A table's column headers; `numeric` ones align right, `hidden` ones
 *  are named for screen readers only (a column of buttons). */
export function Columns({
  names,
  numeric = [],
  hidden = [],
}: {
  names: string[];
  numeric?: string[];
  hidden?: string[];
}) {
  return (
    <thead>
      <tr>
        {names.map((name) => (
          <th scope="col" key={name} className={numeric.includes(name) ? "num" : undefined}>
            {hidden.includes(name) ? <span className="sr-only">{name}</span> : name}
          </th>
        ))}
      </tr>
    </thead>
  );
}

export function when(timestamp: string | null | undefined): string {
  if (!timestamp) return "—";
  return timestamp.replace("T", " ").replace(/\.\d+/, "").replace("Z", " UTC");
}
