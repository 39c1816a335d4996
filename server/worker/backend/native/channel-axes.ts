// Whether a Sum reduces every axis but the last: the bias gradient of every convolution, which
// the native backend computes as threaded channel sums.
export function reducesAllButLast(shape: number[], axis: number | number[]): boolean {
  const axes = (Array.isArray(axis) ? axis : [axis]).map((a) => (a < 0 ? a + shape.length : a));
  if (shape.length < 2 || axes.length !== shape.length - 1) return false;
  return [...axes].sort((a, b) => a - b).every((a, i) => a === i);
}
