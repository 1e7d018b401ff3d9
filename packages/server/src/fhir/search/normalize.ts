/**
 * How text is compared in search: string parameters match case- and accent-insensitively
 * (https://hl7.org/fhir/R4/search.html#string), so the index stores, and a search compares,
 * values lower-cased with their combining marks removed. Both sides go through the same
 * functions, so they always agree.
 */

/**
 * Indexed text is cut to this many characters: a B-tree entry cannot exceed about 2.7 kB, and
 * four bytes a character keeps even two such columns well under. Search values are cut the same
 * way, so a longer value still matches itself (with a rare false positive past the cut).
 */
export const MAX_INDEXED_CHARS = 256;

export function truncateIndexed(value: string): string {
  return value.length > MAX_INDEXED_CHARS ? value.slice(0, MAX_INDEXED_CHARS) : value;
}

/** Lower-case, accents and other combining marks stripped ("Zoë" -> "zoe"), cut to the indexed length. */
export function normalizeText(value: string): string {
  return truncateIndexed(value.normalize('NFD').replace(/\p{M}/gu, '').toLowerCase());
}

/** Escapes LIKE's wildcards and its escape character, so a user's `%` or `_` matches itself. */
export function escapeLike(value: string): string {
  return value.replace(/[\\%_]/g, (c) => `\\${c}`);
}
