/** Subject tokens: job ids and kinds refuse control characters without echoing them. */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { validateJobId, validateKind } from "../../bus/subjects.ts";
import { ValidationError } from "../../machines/errors.ts";

const CONTROLS = ["\u0000", "\u0007", "\u001b", "\r", "\u007f", "\u0085", "\u009b"];

describe("validateJobId()", () => {
  it("refuses C0, DEL, C1 and NUL with a ValidationError that names the character, not the id", () => {
    for (const control of CONTROLS) {
      const id = `job-${control}[2J-1`;
      assert.throws(() => validateJobId(id), (error: Error) => {
        assert.ok(error instanceof ValidationError);
        assert.equal(error.field, "id");
        assert.match(
          error.message,
          new RegExp(
            `control character U\\+${
              control.charCodeAt(0).toString(16).toUpperCase().padStart(4, "0")
            } at position 4`,
          ),
        );
        assert.ok(!error.message.includes(control), "the message holds no control character");
        return true;
      });
    }
  });

  it("still accepts ordinary ids, unicode included", () => {
    for (const id of ["job-1", "schedule-aws-1700000000000", "été_42", "a:b:3"]) {
      assert.equal(validateJobId(id), id);
    }
  });
});

describe("validateKind()", () => {
  it("refuses control characters with a ValidationError that does not echo them", () => {
    for (const control of CONTROLS) {
      assert.throws(
        () => validateKind(`noop${control}`),
        (error: Error) =>
          error instanceof ValidationError && error.field === "kind" &&
          /control character/.test(error.message) && !error.message.includes(control),
      );
    }
    assert.equal(validateKind("aws.iam.policy"), "aws.iam.policy");
  });
});
