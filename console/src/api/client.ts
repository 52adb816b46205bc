// The typed client of the shop's API: every path, parameter, body and
// answer comes from openapi.yaml through the generated `schema.d.ts`
// (`npm run gen`); nothing here declares a request type by hand.
import createClient, { type Middleware } from "openapi-fetch";
import type { components, paths } from "./schema";
import { session } from "../session";

export type Schemas = components["schemas"];
export type Problem = Schemas["Problem"];

/** The API's root: the parent of the console's folder (`<API>/admin/`). */
export const API_ROOT = new URL("..", window.location.href).href.replace(/\/$/, "");

export const api = createClient<paths>({ baseUrl: API_ROOT });

const bearer: Middleware = {
  onRequest({ request }) {
    const token = session.token();
    if (token) request.headers.set("Authorization", `Bearer ${token}`);
    return request;
  },
  onResponse({ response }) {
    // An expired or revoked token: back to signing in.
    if (response.status === 401 && session.token()) session.end();
    return response;
  },
};
api.use(bearer);

/** A problem the API answered (RFC 9457), or one the console made up for
 *  a failure with no answer (the network). */
export class ProblemError extends Error {
  constructor(readonly problem: Problem) {
    super(problem.detail || problem.title);
  }
}

function isProblem(value: unknown): value is Problem {
  return typeof value === "object" && value !== null && "title" in value && "status" in value;
}

/** The data of an answer, or a thrown `ProblemError` with what the API said. */
export async function call<T>(request: Promise<{ data?: T; error?: unknown; response: Response }>): Promise<T> {
  let answer;
  try {
    answer = await request;
  } catch (err) {
    throw new ProblemError({
      type: "about:blank",
      title: "The shop could not be reached",
      status: 0,
      code: "SERVICE_UNAVAILABLE",
      detail: err instanceof Error ? err.message : String(err),
    });
  }
  const { data, error, response } = answer;
  if (error !== undefined || !response.ok) {
    if (isProblem(error)) throw new ProblemError(error);
    throw new ProblemError({
      type: "about:blank",
      title: response.statusText || "Request failed",
      status: response.status,
      code: "INTERNAL",
      detail: `The shop answered ${response.status} without problem details.`,
    });
  }
  return data as T;
}

/** A fresh `Idempotency-Key` for one action of the admin's. */
export function idempotencyKey(): string {
  return crypto.randomUUID();
}
