/**
 * Reads a request's JSON body for the HTTP routes: empty is `undefined`,
 * malformed is a 400 (`BAD_REQUEST`) naming the parser's complaint.
 *
 * @module
 */
import { TroupeError } from "../machines/errors.ts";

/** The parsed body, or undefined when it is empty. */
export async function readJson(request: Request): Promise<unknown> {
  const text = await request.text();
  if (text.trim() === "") return undefined;
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new TroupeError(`Malformed JSON body: ${(error as Error).message}`, { code: "BAD_REQUEST" });
  }
}
