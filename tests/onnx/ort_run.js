// Runs an ONNX model in ONNX Runtime (onnxruntime-node, CPU) on one float32
// input and prints every output as JSON: {"NAME": {"dims": [...], "data": [...]}}.
// The input is a file of little-endian float32 values in row-major order.
//
//   node ort_run.js MODEL.onnx INPUT.f32 N,C,H,W
//
// onnxruntime-node is found through NODE_PATH (tools/install-onnxruntime.sh
// installs it outside the repository); a missing module exits 3, so that the
// caller can say how to install it.
'use strict';
const fs = require('fs');

function loadOrt() {
  try {
    return require('onnxruntime-node');
  } catch (e) {
    process.stderr.write(`ort_run.js: onnxruntime-node not found (NODE_PATH=${process.env.NODE_PATH || ''}): ${e.message}\n`);
    process.exit(3);
  }
}

async function main() {
  const [model, inputFile, dimsText] = process.argv.slice(2);
  if (!dimsText) {
    process.stderr.write('usage: node ort_run.js MODEL.onnx INPUT.f32 N,C,H,W\n');
    process.exit(2);
  }
  const ort = loadOrt();
  const dims = dimsText.split(',').map(Number);
  const bytes = fs.readFileSync(inputFile);
  const values = new Float32Array(bytes.buffer, bytes.byteOffset, bytes.length / 4);
  if (values.length !== dims.reduce((a, b) => a * b, 1)) {
    throw new Error(`${inputFile}: ${values.length} values for dimensions ${dims}`);
  }
  // One thread each, as the test runs beside others on a small machine.
  const session = await ort.InferenceSession.create(model, { intraOpNumThreads: 1, interOpNumThreads: 1 });
  const feeds = { [session.inputNames[0]]: new ort.Tensor('float32', values, dims) };
  const results = await session.run(feeds);
  const out = {};
  for (const name of session.outputNames) {
    // A float32 printed as a double is exact, so the caller reads ORT's values bit for bit.
    out[name] = { dims: Array.from(results[name].dims), data: Array.from(results[name].data) };
  }
  process.stdout.write(JSON.stringify(out) + '\n');
}

main().catch((e) => {
  process.stderr.write(`ort_run.js: ${e.stack || e}\n`);
  process.exit(1);
});
