// Run by optimize.ts as a child process: `node optimize-graph.js MODEL OUT` applies ONNX
// Runtime's CPU graph optimizations to MODEL and writes the result to OUT, so the server's own
// process never holds what the optimizer allocates (docs/performance.md, "Memory").
import ort from 'onnxruntime-node';

const [model, out] = process.argv.slice(2);
if (!model || !out) {
  console.error('usage: optimize-graph MODEL OUT');
  process.exit(2);
}
// The parent holds our stdin open; it closes when the parent ends, however it ends, and then
// there is nobody left to read what this would write.
process.stdin.on('close', () => process.exit(1));
process.stdin.resume();
try {
  const session = await ort.InferenceSession.create(model, {
    executionProviders: ['cpu'],
    graphOptimizationLevel: 'all',
    optimizedModelFilePath: out,
    intraOpNumThreads: 1,
    // Not the warning that an 'all'-level graph is tied to this machine's CPU: it is, on
    // purpose; the file lives only until the server's session has read it.
    logSeverityLevel: 3,
  });
  await session.release();
  process.exit(0);
} catch (err) {
  // One line the parent can log as the reason (an uncaught error would end with Node's banner).
  console.error((err as Error).message.replace(/\s+/g, ' ').trim());
  process.exit(1);
}
