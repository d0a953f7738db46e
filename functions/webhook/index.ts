// Placeholder until the handler lands (same commit series); lets infra/ synthesize.
export const handler = async (): Promise<void> => {
  throw new Error("not implemented yet");
};
