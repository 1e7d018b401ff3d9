/**
 * Bad input, everywhere: every malformed, oversized, hostile or invalid request gets a 4xx
 * OperationOutcome in application/fhir+json (never a 500), and changes nothing: the project's
 * resource and history rows are counted before and after, and the resource it aimed at still
 * reads the same. URL-level problems (ids, history parameters, version ids) are in
 * bad-input-url.test.ts.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { expectOutcome, watchProject } from './expect-outcome.js';
import { fhirClient } from './factories.js';
import { startTestServer, type TestServer } from './harness.js';

/** A valid Patient whose deepest object or array sits exactly `depth` levels down (the Patient is level 1). */
function nestedPatient(depth: number): unknown {
  // Patient (1) > extension array (2) > Extension (3) > extension array (4) > ...; an even depth
  // ends in a CodeableConcept value, one level below its Extension.
  const leaf = depth % 2 === 0 ? { url: 'http://example.org/x', valueCodeableConcept: { text: 'leaf' } } : { url: 'http://example.org/x', valueString: 'leaf' };
  let extension: unknown = leaf;
  for (let level = 1; level < Math.floor((depth - 1) / 2); level++) {
    extension = { url: 'http://example.org/x', extension: [extension] };
  }
  return { resourceType: 'Patient', extension: [extension] };
}

describe('bad request bodies: a 4xx OperationOutcome, and nothing written', () => {
  let server: TestServer;

  before(async () => {
    server = await startTestServer();
  });
  after(() => server.close());

  it('refuses malformed JSON, and an array, scalar or empty body, on POST and PUT', async () => {
    const project = await watchProject(server);
    const { fhir, patient } = project;
    const bodies = ['{"resourceType":"Patient",', '{resourceType: "Patient"}', "{'resourceType':'Patient'}", '{"resourceType":"Patient"} trailing', '[]', '[{"resourceType":"Patient"}]', '42', '"Patient"', 'null', 'true', '', '   '];
    for (const body of bodies) {
      expectOutcome(await fhir.post('Patient', body), 400);
      expectOutcome(await fhir.put(`Patient/${patient.id}`, body), 400);
    }
    await project.assertUnchanged();
  });

  it('answers 415 to a body that is not JSON by its Content-Type, or has none', async () => {
    const project = await watchProject(server);
    const { fhir, patient, member } = project;
    const json = JSON.stringify({ resourceType: 'Patient', active: true });
    for (const type of ['text/plain', 'application/xml', 'application/x-www-form-urlencoded', 'application/fhir+xml']) {
      expectOutcome(await fhir.post('Patient', json, { 'content-type': type }), 415);
      expectOutcome(await fhir.put(`Patient/${patient.id}`, JSON.stringify(patient), { 'content-type': type }), 415);
      expectOutcome(await fhir.patch(`Patient/${patient.id}`, '[{"op":"add","path":"/active","value":true}]', { 'content-type': type }), 415);
    }
    // A PATCH must say it is a JSON Patch, even when its body is JSON.
    expectOutcome(await fhir.patch(`Patient/${patient.id}`, [{ op: 'add', path: '/active', value: true }], { 'content-type': 'application/fhir+json' }), 415);
    // No Content-Type at all: fetch sends a byte array without one.
    for (const method of ['POST', 'PUT']) {
      const res = await fetch(new URL(method === 'POST' ? 'Patient' : `Patient/${patient.id}`, server.fhirUrl), {
        method,
        headers: { authorization: `Bearer ${member.token}` },
        body: new TextEncoder().encode(method === 'POST' ? json : JSON.stringify(patient)),
      });
      expectOutcome({ status: res.status, headers: res.headers, body: await res.json() }, 415);
    }
    await project.assertUnchanged();
    // The same body with a JSON Content-Type, charset and all, is fine.
    assert.equal((await fhir.post('Patient', json, { 'content-type': 'application/fhir+json; charset=utf-8' })).status, 201);
  });

  it('refuses an unknown resource type in the URL (404) or in the body (400)', async () => {
    const project = await watchProject(server);
    const { fhir, patient } = project;
    // https://hl7.org/fhir/R4/http.html#read: 404 when the resource type is not supported.
    for (const type of ['Foo', 'patient', 'Resource', 'DomainResource', 'hasOwnProperty', 'constructor']) {
      expectOutcome(await fhir.post(type, { resourceType: type }), 404);
      expectOutcome(await fhir.get(`${type}/${patient.id}`), 404);
      expectOutcome(await fhir.put(`${type}/${patient.id}`, { resourceType: type, id: patient.id }), 404);
      expectOutcome(await fhir.patch(`${type}/${patient.id}`, [{ op: 'add', path: '/active', value: true }]), 404);
      expectOutcome(await fhir.delete(`${type}/${patient.id}`), 404);
      expectOutcome(await fhir.get(`${type}/_history`), 404);
    }
    for (const resourceType of ['Foo', 42, null, ['Patient'], { name: 'Patient' }]) {
      expectOutcome(await fhir.post('Patient', { resourceType }), 400, 'resourceType');
      expectOutcome(await fhir.put(`Patient/${patient.id}`, { ...patient, resourceType }), 400, 'resourceType');
    }
    expectOutcome(await fhir.post('Patient', { active: true }), 400, 'resourceType');
    await project.assertUnchanged();
  });

  it("refuses a body whose resourceType or id is not the URL's", async () => {
    const project = await watchProject(server);
    const { fhir, patient } = project;
    expectOutcome(await fhir.post('Patient', { resourceType: 'Observation', status: 'final', code: { text: 'x' } }), 400, 'resourceType');
    expectOutcome(await fhir.put(`Patient/${patient.id}`, { ...patient, resourceType: 'Practitioner' }), 400, 'resourceType');
    expectOutcome(await fhir.put(`Patient/${patient.id}`, { ...patient, id: 'someone-else' }), 400, 'id');
    expectOutcome(await fhir.put(`Patient/${patient.id}`, { ...patient, id: undefined }), 400, 'id');
    expectOutcome(await fhir.put(`Patient/${patient.id}`, { ...patient, id: 42 }), 400, 'id');
    expectOutcome(await fhir.put('Patient/new-one', { resourceType: 'Patient', id: 'new-two' }), 400, 'id');
    await project.assertUnchanged();
  });

  it('refuses __proto__, constructor and prototype keys, at the top and nested', async () => {
    const project = await watchProject(server);
    const { fhir, patient } = project;
    const resources = [
      ['__proto__', '{"resourceType":"Patient","__proto__":{"active":true}}'],
      ['constructor', '{"resourceType":"Patient","constructor":{"name":{"polluted":true}}}'],
      ['prototype', '{"resourceType":"Patient","prototype":{}}'],
      ['__proto__', '{"resourceType":"Patient","name":[{"family":"X","__proto__":{"given":["Y"]}}]}'],
      ['constructor', '{"resourceType":"Patient","meta":{"constructor":"x"}}'],
      ['prototype', '{"resourceType":"Patient","contact":[{"name":{"prototype":{"text":"z"}}}]}'],
    ] as const;
    for (const [key, body] of resources) {
      expectOutcome(await fhir.post('Patient', body), 400, key);
      expectOutcome(await fhir.put(`Patient/${patient.id}`, body.replace('{"resourceType":"Patient"', `{"resourceType":"Patient","id":"${patient.id}"`)), 400, key);
    }
    expectOutcome(await fhir.patch(`Patient/${patient.id}`, '[{"op":"add","path":"/name","value":[{"__proto__":{"family":"X"}}]}]'), 400, '__proto__');
    expectOutcome(await fhir.patch(`Patient/${patient.id}`, '[{"op":"add","path":"/active","value":true,"constructor":{}}]'), 400, 'constructor');
    await project.assertUnchanged();
  });

  it('refuses JSON nested deeper than JSON_MAX_DEPTH (64), and accepts exactly 64', async () => {
    const project = await watchProject(server);
    const { fhir, patient } = project;
    const tooDeep = nestedPatient(65);
    expectOutcome(await fhir.post('Patient', tooDeep), 400);
    expectOutcome(await fhir.put(`Patient/${patient.id}`, { ...(tooDeep as object), id: patient.id }), 400);
    expectOutcome(await fhir.patch(`Patient/${patient.id}`, [{ op: 'add', path: '/extension', value: (tooDeep as { extension: unknown }).extension }]), 400);
    // Far deeper than any stack: refused from the text, before parsing.
    for (const body of ['['.repeat(200_000) + ']'.repeat(200_000), '{"a":'.repeat(100_000) + '1' + '}'.repeat(100_000)]) {
      const res = await fhir.post('Patient', body);
      expectOutcome(res, 400);
      assert.match(res.body.issue[0].details.text, /nested deeper than 64/);
    }
    await project.assertUnchanged();
    // Brackets inside strings do not count.
    const brackets = await fhir.post('Patient', { resourceType: 'Patient', name: [{ text: '['.repeat(500) + '{'.repeat(500) }] });
    assert.equal(brackets.status, 201, JSON.stringify(brackets.body));
    const atLimit = await fhir.post('Patient', nestedPatient(64));
    assert.equal(atLimit.status, 201, JSON.stringify(atLimit.body));
  });

  it('refuses bytes that are not UTF-8', async () => {
    const project = await watchProject(server);
    const { fhir, patient } = project;
    const encoder = new TextEncoder();
    const withBytes = (before: string, bytes: number[], afterText: string): Uint8Array =>
      new Uint8Array([...encoder.encode(before), ...bytes, ...encoder.encode(afterText)]);
    // A stray continuation byte, an overlong "/", a truncated sequence, an encoded surrogate, 0xFF.
    for (const bytes of [[0x80], [0xc0, 0xaf], [0xe2, 0x82], [0xed, 0xa0, 0x80], [0xff, 0xfe]]) {
      expectOutcome(await fhir.post('Patient', withBytes('{"resourceType":"Patient","name":[{"family":"', bytes, '"}]}')), 400);
      expectOutcome(await fhir.put(`Patient/${patient.id}`, withBytes(`{"resourceType":"Patient","id":"${patient.id}","name":[{"family":"`, bytes, '"}]}')), 400);
      expectOutcome(await fhir.patch(`Patient/${patient.id}`, withBytes('[{"op":"add","path":"/name","value":[{"family":"', bytes, '"}]}]')), 400);
    }
    await project.assertUnchanged();
  });

  it('refuses a NUL character or an unpaired surrogate, in a value or a key', async () => {
    const project = await watchProject(server);
    const { fhir, patient } = project;
    // Written as JSON escapes, so the bytes are valid UTF-8: PostgreSQL's jsonb still cannot store them.
    for (const text of ['\\u0000', 'a\\u0000b', '\\ud800', 'x\\udc00', '\\ude00\\ud83d']) {
      expectOutcome(await fhir.post('Patient', `{"resourceType":"Patient","name":[{"family":"${text}"}]}`), 400, 'family');
      expectOutcome(await fhir.put(`Patient/${patient.id}`, `{"resourceType":"Patient","id":"${patient.id}","name":[{"family":"${text}"}]}`), 400, 'family');
      expectOutcome(await fhir.patch(`Patient/${patient.id}`, `[{"op":"add","path":"/name","value":[{"family":"${text}"}]}]`), 400, 'family');
      expectOutcome(await fhir.post('Patient', `{"resourceType":"Patient","${text}":true}`), 400);
    }
    // A raw control character inside a string is not JSON at all.
    expectOutcome(await fhir.post('Patient', '{"resourceType":"Patient","name":[{"family":"a\u0000b"}]}'), 400);
    await project.assertUnchanged();
    // A proper surrogate pair (an emoji) is fine.
    const emoji = await fhir.post('Patient', '{"resourceType":"Patient","name":[{"family":"\\ud83d\\ude00"}]}');
    assert.equal(emoji.status, 201, JSON.stringify(emoji.body));
    assert.equal(emoji.body.name[0].family, '\u{1F600}');
  });

  it('refuses a PATCH that would leave an invalid resource, and keeps the resource as it was', async () => {
    const project = await watchProject(server);
    const { fhir, patient } = project;
    const path = `Patient/${patient.id}`;
    expectOutcome(await fhir.patch(path, [{ op: 'add', path: '/birthDate', value: 'x' }]), 400, 'Patient.birthDate');
    expectOutcome(await fhir.patch(path, [{ op: 'replace', path: '/active', value: 'yes' }]), 400, 'Patient.active');
    expectOutcome(await fhir.patch(path, [{ op: 'add', path: '/unknownField', value: 1 }]), 400, 'Patient.unknownField');
    expectOutcome(await fhir.patch(path, [{ op: 'replace', path: '/resourceType', value: 'Practitioner' }]), 400, 'resourceType');
    expectOutcome(await fhir.patch(path, [{ op: 'remove', path: '/resourceType' }]), 400, 'resourceType');
    expectOutcome(await fhir.patch(path, [{ op: 'replace', path: '/id', value: 'other' }]), 400, 'id');
    expectOutcome(await fhir.patch(path, [{ op: 'remove', path: '/id' }]), 400, 'id');
    // Operations on the root ("") replace or remove the whole document.
    for (const value of [null, 42, 'Patient', [], [{ resourceType: 'Patient' }]]) {
      expectOutcome(await fhir.patch(path, [{ op: 'replace', path: '', value }]), 400);
    }
    expectOutcome(await fhir.patch(path, [{ op: 'remove', path: '' }]), 400);
    expectOutcome(await fhir.patch(path, [{ op: 'replace', path: '', value: { resourceType: 'Observation', id: patient.id } }]), 400, 'resourceType');
    // The first operation is fine, the second is not: neither is applied.
    expectOutcome(await fhir.patch(path, [{ op: 'replace', path: '/active', value: true }, { op: 'add', path: '/gender', value: 42 }]), 400);
    await project.assertUnchanged();
  });

  it('refuses a PATCH body that is not an array of valid operations, or goes through __proto__', async () => {
    const project = await watchProject(server);
    const { fhir, patient } = project;
    const path = `Patient/${patient.id}`;
    for (const body of [{ op: 'add', path: '/active', value: true }, 'add', 42, null, { resourceType: 'Patient' }]) {
      expectOutcome(await fhir.patch(path, body), 400);
    }
    const badOps: Array<[unknown[], string]> = [
      [[42], '[0]'],
      [[null], '[0]'],
      [[['add', '/active', true]], '[0]'],
      [[{ path: '/active', value: true }], '[0].op'],
      [[{ op: 'frobnicate', path: '/active', value: true }], '[0].op'],
      [[{ op: 'replace', path: '/active', value: true }, { op: 'ADD', path: '/active', value: true }], '[1].op'],
      [[{ op: 'add', value: true }], '[0].path'],
      [[{ op: 'add', path: 'active', value: true }], '[0].path'],
      [[{ op: 'add', path: 7, value: true }], '[0].path'],
      [[{ op: 'move', from: 7, path: '/active' }], '[0].from'],
      [[{ op: 'add', path: '/active' }], '[0]'],
      [[{ op: 'remove', path: '/nothing/here' }], '[0]'],
      [[{ op: 'copy', from: '/nothing', path: '/active' }], '[0]'],
      [[{ op: 'test', path: '/active', value: true }], '[0]'],
      [[{ op: 'add', path: '/__proto__/polluted', value: true }], '[0].path'],
      [[{ op: 'add', path: '/name/0/constructor/prototype', value: {} }], '[0].path'],
      [[{ op: 'add', path: '/prototype', value: {} }], '[0].path'],
      [[{ op: 'copy', from: '/__proto__', path: '/active' }], '[0].from'],
      [[{ op: 'move', from: '/name/0/constructor', path: '/x' }], '[0].from'],
    ];
    for (const [operations, expression] of badOps) {
      expectOutcome(await fhir.patch(path, operations), 400, expression);
    }
    await project.assertUnchanged();
    // Nothing leaked onto objects' prototype along the way.
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
  });
});

describe('a body over BODY_LIMIT_BYTES', () => {
  let server: TestServer;

  before(async () => {
    server = await startTestServer({ env: { BODY_LIMIT_BYTES: '2048' } });
  });
  after(() => server.close());

  it('answers 413 on POST, PUT and PATCH, whether or not the size was announced', async () => {
    const project = await watchProject(server);
    const { fhir, patient, member } = project;
    const big = 'x'.repeat(3000);
    expectOutcome(await fhir.post('Patient', { resourceType: 'Patient', name: [{ text: big }] }), 413);
    expectOutcome(await fhir.put(`Patient/${patient.id}`, { ...patient, name: [{ text: big }] }), 413);
    expectOutcome(await fhir.patch(`Patient/${patient.id}`, [{ op: 'add', path: '/name', value: [{ text: big }] }]), 413);
    // Chunked, with no Content-Length: the limit holds while the body streams in.
    const body = new TextEncoder().encode(JSON.stringify({ resourceType: 'Patient', name: [{ text: big }] }));
    const res = await fetch(new URL('Patient', server.fhirUrl), {
      method: 'POST',
      headers: { authorization: `Bearer ${member.token}`, 'content-type': 'application/fhir+json' },
      body: new ReadableStream({
        start(controller) {
          controller.enqueue(body.subarray(0, 1000));
          controller.enqueue(body.subarray(1000));
          controller.close();
        },
      }),
      duplex: 'half',
    } as RequestInit);
    expectOutcome({ status: res.status, headers: res.headers, body: await res.json() }, 413);
    await project.assertUnchanged();
    // Under the limit, the same request succeeds.
    assert.equal((await fhir.post('Patient', { resourceType: 'Patient', name: [{ text: 'x'.repeat(1500) }] })).status, 201);
  });

  it('answers 401, not 413 or 400, to an anonymous caller: the body is not read before authentication', async () => {
    const anonymous = fhirClient(server);
    expectOutcome(await anonymous.post('Patient', { resourceType: 'Patient', name: [{ text: 'x'.repeat(3000) }] }), 401);
    expectOutcome(await anonymous.post('Patient', '{"resourceType":'), 401);
  });
});
