/**
 * Reads a request's JSON body for the HTTP routes: empty is `undefined`,
 * malformed is a 400 (`BAD_REQUEST`) naming the parser's complaint without
 * quoting the body. Whether the parsed value can be stored is each route's
 * check (bus/json-value-rules.ts), after parsing.
 *
 * @module
 */
import { TroupeError } from "../../machines/errors.ts";
import { describeJsonSyntaxError } from "../../bus/json-value-rules.ts";

/** The parsed body, or undefined when it is empty. */
export async function readJson(request: Request): Promise<unknown> {
  const text = await request.text();
  if (text.trim() === "") return undefined;
  try {
    return JSON.parse(text);
  } catch (error) {
    // V8 parses any depth; a parser that recurses would throw a RangeError instead.
    if (error instanceof RangeError) {
      throw new TroupeError("Malformed JSON body: nested too deeply to parse", { code: "BAD_REQUEST" });
    }
    throw new TroupeError(`Malformed JSON body: ${describeJsonSyntaxError(error)}`, { code: "BAD_REQUEST" });
  }
}
