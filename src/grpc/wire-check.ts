/**
 * Why `bytes` is not a protobuf message, else undefined: a walk of its top-level fields that
 * checks each one ends inside the buffer. protobufjs reads a string field leniently — one
 * whose length runs past the end is cut to what is there (BufferReader#string) — so a
 * truncated message would decode as a valid, shorter one, where HTTP refuses a truncated JSON
 * body. A cut anywhere but on a field boundary leaves the top-level field around it overrunning
 * the buffer, so this top-level walk is enough; nested fields are protobufjs's to read.
 */
export function wireProblem(bytes: Uint8Array): string | undefined {
  let pos = 0;
  const varint = (): number | undefined => {
    let value = 0;
    for (let shift = 0; shift < 70; shift += 7) {
      if (pos >= bytes.length) return undefined;
      const b = bytes[pos++]!;
      value += (b & 0x7f) * 2 ** shift;
      if ((b & 0x80) === 0) return value;
    }
    return undefined;
  };
  const groups: number[] = [];
  while (pos < bytes.length) {
    const at = pos;
    const tag = varint();
    if (tag === undefined) return `a field tag is cut short at offset ${at}`;
    const field = Math.floor(tag / 8);
    const type = tag % 8;
    if (field === 0) return `field number 0 at offset ${at}`;
    let end = pos;
    if (type === 0) {
      if (varint() === undefined) return `a varint is cut short at offset ${at}`;
      end = pos;
    } else if (type === 1) end = pos + 8;
    else if (type === 5) end = pos + 4;
    else if (type === 2) {
      const length = varint();
      if (length === undefined) return `a length is cut short at offset ${at}`;
      end = pos + length;
    } else if (type === 3) groups.push(field);
    else if (type === 4) {
      if (groups.pop() !== field) return `an unmatched end of group at offset ${at}`;
    } else return `invalid wire type ${type} at offset ${at}`;
    if (end > bytes.length) return `field ${field} at offset ${at} runs past the end of the message`;
    pos = end;
  }
  return groups.length > 0 ? 'a group is not closed' : undefined;
}
