/** FHIR logical ids and resource types as they may appear in a URL (https://hl7.org/fhir/R4/datatypes.html#id). */
import { badRequest } from './outcomes.js';

const ID_PATTERN = /^[A-Za-z0-9\-.]{1,64}$/;

export function isValidId(id: string): boolean {
  return ID_PATTERN.test(id);
}

export function assertValidId(id: string, expression = 'id'): string {
  if (!isValidId(id)) {
    throw badRequest(`Invalid id "${id.slice(0, 80)}": 1 to 64 letters, digits, "-" or "."`, expression);
  }
  return id;
}
