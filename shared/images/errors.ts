/** Errors of the image update that point into a repository file. */

/** A problem at a line of a repository file: `<file>:<line>: <reason>` (line 1-based). */
export class FileLineError extends Error {
  constructor(
    readonly file: string,
    readonly line: number,
    readonly reason: string,
  ) {
    super(`${file}:${line}: ${reason}`);
    this.name = new.target.name;
  }
}
