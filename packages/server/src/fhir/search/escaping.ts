/**
 * Search value escaping (https://hl7.org/fhir/R4/search.html#escaping): `\,` `\|` `\$` and
 * `\\` stand for the character itself. Values are split on the unescaped separator first and
 * unescaped last, so `a\|b|c` is the two parts `a|b` and `c`.
 */

/** Splits on `separator` where it is not escaped; the parts keep their escapes. */
export function splitUnescaped(value: string, separator: string): string[] {
  const parts: string[] = [];
  let current = '';
  for (let i = 0; i < value.length; i++) {
    const c = value[i] as string;
    if (c === '\\' && i + 1 < value.length) {
      current += c + value[i + 1];
      i++;
    } else if (c === separator) {
      parts.push(current);
      current = '';
    } else {
      current += c;
    }
  }
  parts.push(current);
  return parts;
}

/** Removes the escaping backslashes. */
export function unescapeValue(value: string): string {
  return value.replace(/\\(.)/g, '$1');
}
