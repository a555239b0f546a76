/** Image formats Loupe decodes; anything else is refused. */
export type SupportedFormat = 'jpeg' | 'png' | 'webp' | 'gif' | 'tiff' | 'avif';

export type Sniffed =
  { kind: 'supported'; format: SupportedFormat } | { kind: 'unsupported'; format: string } | { kind: 'unknown' };

const ascii = (b: Uint8Array, start: number, end: number) => String.fromCharCode(...b.subarray(start, end));

/**
 * Identifies the format from the leading bytes only: filenames and Content-Type are the
 * client's claims, the magic number is the file's. Vector and script-capable formats (SVG,
 * PDF, PostScript) are recognised in order to refuse them.
 */
export function sniffFormat(b: Uint8Array): Sniffed {
  if (b.length >= 3 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff) return { kind: 'supported', format: 'jpeg' };
  if (
    b.length >= 8 &&
    b[0] === 0x89 &&
    ascii(b, 1, 4) === 'PNG' &&
    b[4] === 0x0d &&
    b[5] === 0x0a &&
    b[6] === 0x1a &&
    b[7] === 0x0a
  )
    return { kind: 'supported', format: 'png' };
  if (b.length >= 12 && ascii(b, 0, 4) === 'RIFF' && ascii(b, 8, 12) === 'WEBP')
    return { kind: 'supported', format: 'webp' };
  if (b.length >= 6 && (ascii(b, 0, 6) === 'GIF87a' || ascii(b, 0, 6) === 'GIF89a'))
    return { kind: 'supported', format: 'gif' };
  if (
    b.length >= 4 &&
    ((b[0] === 0x49 && b[1] === 0x49 && b[2] === 0x2a && b[3] === 0x00) ||
      (b[0] === 0x4d && b[1] === 0x4d && b[2] === 0x00 && b[3] === 0x2a))
  )
    return { kind: 'supported', format: 'tiff' };
  if (b.length >= 12 && ascii(b, 4, 8) === 'ftyp') {
    const brand = ascii(b, 8, 12);
    if (brand === 'avif' || brand === 'avis') return { kind: 'supported', format: 'avif' };
    return { kind: 'unsupported', format: `heif (${brand.trim()})` };
  }
  if (b.length >= 2 && b[0] === 0x42 && b[1] === 0x4d) return { kind: 'unsupported', format: 'bmp' };
  if (b.length >= 4 && ascii(b, 0, 4) === '%PDF') return { kind: 'unsupported', format: 'pdf' };
  if (b.length >= 2 && ascii(b, 0, 2) === '%!') return { kind: 'unsupported', format: 'postscript' };
  if (b.length >= 4 && b[0] === 0 && b[1] === 0 && (b[2] === 1 || b[2] === 2) && b[3] === 0)
    return { kind: 'unsupported', format: 'ico' };
  if (b.length >= 4 && ascii(b, 0, 4) === '8BPS') return { kind: 'unsupported', format: 'psd' };
  if (b.length >= 12 && b[0] === 0 && b[1] === 0 && b[2] === 0 && b[3] === 0x0c && ascii(b, 4, 8) === 'jP  ')
    return { kind: 'unsupported', format: 'jpeg2000' };
  if (b.length >= 2 && b[0] === 0xff && b[1] === 0x0a) return { kind: 'unsupported', format: 'jpeg-xl' };
  if (looksLikeMarkup(b)) return { kind: 'unsupported', format: 'svg' };
  return { kind: 'unknown' };
}

function looksLikeMarkup(b: Uint8Array): boolean {
  let i = b[0] === 0xef && b[1] === 0xbb && b[2] === 0xbf ? 3 : 0; // UTF-8 BOM
  while (i < b.length && (b[i] === 0x20 || b[i] === 0x09 || b[i] === 0x0a || b[i] === 0x0d)) i++;
  if (b[i] !== 0x3c) return false; // '<'
  const head = Buffer.from(b.subarray(i, i + 4096))
    .toString('latin1')
    .toLowerCase();
  return head.includes('<svg') || head.startsWith('<?xml') || head.startsWith('<!doctype svg');
}
