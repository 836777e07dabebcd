export function runBench(): void {}
