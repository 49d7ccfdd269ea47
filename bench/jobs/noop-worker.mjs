// The baseline: the same no-op work handed straight to piscina, with no scheduler around it.
export default function (i) {
  return i;
}
