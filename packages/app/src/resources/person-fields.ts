/** The fields of a Patient, Practitioner or RelatedPerson that the edit form shows, to and from the resource. */
import type { ContactPoint, Patient, Practitioner, RelatedPerson } from '@medplum/fhirtypes';

export type Person = Patient | Practitioner | RelatedPerson;

export const PERSON_TYPES = ['Patient', 'Practitioner', 'RelatedPerson'] as const;

export interface PersonValues {
  given: string;
  family: string;
  email: string;
  phone: string;
  birthDate: string;
  gender: string;
}

export function personName(resource: { name?: Person['name'] }): string {
  const n = resource.name?.[0];
  return n?.text ?? ([n?.given?.join(' '), n?.family].filter(Boolean).join(' ') || '');
}

function telecom(resource: Person, system: ContactPoint['system']): string {
  return resource.telecom?.find((t) => t.system === system)?.value ?? '';
}

export function valuesOf(resource: Person): PersonValues {
  const n = resource.name?.[0];
  return {
    given: n?.given?.join(' ') ?? '',
    family: n?.family ?? '',
    email: telecom(resource, 'email'),
    phone: telecom(resource, 'phone'),
    birthDate: resource.birthDate ?? '',
    gender: resource.gender ?? '',
  };
}

/** The resource with these values; everything the form does not show is kept as it was. */
export function applyValues<T extends Person>(resource: T, v: PersonValues): T {
  const [first, ...otherNames] = resource.name ?? [];
  const given = v.given.trim().split(/\s+/).filter(Boolean);
  const name = { ...(first ?? {}), ...(given.length ? { given } : { given: undefined }), ...(v.family.trim() ? { family: v.family.trim() } : { family: undefined }) };
  delete name.text;
  const others = (resource.telecom ?? []).filter((t) => t.system !== 'email' && t.system !== 'phone');
  const contacts: ContactPoint[] = [
    ...(v.email.trim() ? [{ system: 'email' as const, value: v.email.trim() }] : []),
    ...(v.phone.trim() ? [{ system: 'phone' as const, value: v.phone.trim() }] : []),
  ];
  const next: T = { ...resource, name: [JSON.parse(JSON.stringify(name)), ...otherNames], telecom: [...contacts, ...others] };
  if (!next.telecom?.length) delete next.telecom;
  if (v.birthDate) next.birthDate = v.birthDate;
  else delete next.birthDate;
  if (v.gender) next.gender = v.gender as Person['gender'];
  else delete next.gender;
  return next;
}
