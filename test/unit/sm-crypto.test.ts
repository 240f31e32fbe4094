import { execFileSync } from 'node:child_process';
import { createHash, hash } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { canonicalize } from '../../src/audit/canonical.js';
import { ChainHead, genesisHash } from '../../src/audit/chain.js';
import { signCheckpoint, verifyCheckpoint } from '../../src/audit/checkpoint.js';
import { generateSm2Jwk, type Sm2Jwk, sm2Sign, sm2Verify } from '../../src/audit/sm2.js';

// Known answers from the GM/T standards, and OpenSSL as an independent SM2 implementation.
const b64url = (hexText: string) => Buffer.from(hexText, 'hex').toString('base64url');

describe('SM3 (GM/T 0004 / GB/T 32905 Appendix A)', () => {
  it('hashes "abc" and the 512-bit "abcd"×16 to the published digests', () => {
    expect(hash('sm3', 'abc', 'hex')).toBe(
      '66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0',
    );
    expect(hash('sm3', 'abcd'.repeat(16), 'hex')).toBe(
      'debe9ff92275b8a138604889c18e5a4d6fdb70e5387e5765293dcba39c0c5732',
    );
  });

  it('an SM3 chain hashes each record with SM3 over its canonical form, from an SM3 genesis', () => {
    const head = new ChainHead('sm3-chain', 0, undefined, 'sm3');
    const sealed = head.seal(
      { type: 'writer_stop', enforcer: { service: 's', instance: 'i', version: '0' } },
      0,
    );
    const { hash: recordHashValue, ...body } = JSON.parse(sealed.line) as Record<string, unknown>;
    expect(body.prev).toBe(createHash('sm3').update('pipl-guard/audit/v1\nsm3-chain').digest('hex'));
    expect(body.prev).toBe(genesisHash('sm3-chain', 'sm3'));
    expect(recordHashValue).toBe(createHash('sm3').update(canonicalize(body)).digest('hex'));
    expect(recordHashValue).not.toBe(createHash('sha256').update(canonicalize(body)).digest('hex'));
  });
});

// GM/T 0003.5-2012 Annex A (also GB/T 32918.5): signature example on the recommended curve, ID
// "1234567812345678", message "message digest".
const GMT_EXAMPLE: Sm2Jwk = {
  kty: 'EC',
  crv: 'SM2',
  x: b64url('09F9DF311E5421A150DD7D161E4BC5C672179FAD1833FC076BB08FF356F35020'),
  y: b64url('CCEA490CE26775A52DC6EA718CC1AA600AED05FBF35E084A6632F6072DA9AD13'),
  d: b64url('3945208F7B2144B13F36E38AC6D39F95889393692860B51A42FB81EF4DF7C5B8'),
};
const GMT_SIGNATURE = b64url(
  'F5A03B0648D2C4630EEAC513E1BB81A15944DA3827D5B74143AC7EACEEE720B3' +
    'B1B6AA29DF212FD8763182BC0D421CA1BB9038FD1F7F42D4840B69C485BBC1AA',
);

describe('SM2 signatures (GM/T 0003 with SM3)', () => {
  it('verifies the GM/T 0003.5 example signature, and refuses it for another message', async () => {
    expect(await sm2Verify('message digest', GMT_SIGNATURE, GMT_EXAMPLE)).toBe(true);
    expect(await sm2Verify('message digesT', GMT_SIGNATURE, GMT_EXAMPLE)).toBe(false);
  });

  it('signs what the same example key verifies (signatures are randomised, so not the same bytes)', async () => {
    const signature = await sm2Sign('message digest', GMT_EXAMPLE);
    expect(signature).not.toBe(GMT_SIGNATURE);
    expect(await sm2Verify('message digest', signature, GMT_EXAMPLE)).toBe(true);
  });

  it('interoperates with the OpenSSL CLI in both directions (distid 1234567812345678)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pipl-sm2-'));
    const message = join(dir, 'msg');
    writeFileSync(message, 'checkpoint signing input');
    const der = (raw: Buffer) => {
      const int = (bytes: Buffer) => {
        let b = bytes;
        while (b.length > 1 && b[0] === 0 && (b[1] as number) < 0x80) b = b.subarray(1);
        if ((b[0] as number) >= 0x80) b = Buffer.concat([Buffer.from([0]), b]);
        return Buffer.concat([Buffer.from([2, b.length]), b]);
      };
      const body = Buffer.concat([int(raw.subarray(0, 32)), int(raw.subarray(32))]);
      return Buffer.concat([Buffer.from([0x30, body.length]), body]);
    };
    const openssl = (args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' }).toString();

    // Ours → OpenSSL: our signature (as DER) verified by `openssl pkeyutl -verify`.
    const { privateJwk, publicJwk } = await generateSm2Jwk('k1');
    const spki = Buffer.concat([
      Buffer.from('3059301306072a8648ce3d020106082a811ccf5501822d03420004', 'hex'),
      Buffer.from(publicJwk.x, 'base64url'),
      Buffer.from(publicJwk.y, 'base64url'),
    ]);
    writeFileSync(
      join(dir, 'pub.pem'),
      `-----BEGIN PUBLIC KEY-----\n${spki.toString('base64')}\n-----END PUBLIC KEY-----\n`,
    );
    const ours = await sm2Sign('checkpoint signing input', privateJwk);
    writeFileSync(join(dir, 'ours.der'), der(Buffer.from(ours, 'base64url')));
    const verifyArgs = ['pkeyutl', '-verify', '-rawin', '-digest', 'sm3', '-pubin', '-inkey', 'pub.pem'];
    expect(
      openssl([...verifyArgs, '-pkeyopt', 'distid:1234567812345678', '-in', 'msg', '-sigfile', 'ours.der']),
    ).toMatch(/Signature Verified Successfully/);
    // A different distinguishing id is a different Z: OpenSSL refuses.
    expect(() =>
      openssl([...verifyArgs, '-pkeyopt', 'distid:0000000000000000', '-in', 'msg', '-sigfile', 'ours.der']),
    ).toThrow();

    // OpenSSL → ours: a key and signature made by OpenSSL, verified here.
    openssl(['genpkey', '-algorithm', 'SM2', '-out', 'key.pem']);
    const text = openssl(['pkey', '-in', 'key.pem', '-text', '-noout']);
    const pub = (text.split('pub:')[1] as string).split('ASN1')[0]?.replace(/[^0-9a-f]/g, '') as string;
    expect(pub).toMatch(/^04[0-9a-f]{128}$/);
    openssl([
      'pkeyutl',
      '-sign',
      '-rawin',
      '-digest',
      'sm3',
      '-inkey',
      'key.pem',
      '-pkeyopt',
      'distid:1234567812345678',
      '-in',
      'msg',
      '-out',
      'theirs.der',
    ]);
    const sig = readFileSync(join(dir, 'theirs.der'));
    // DER SEQUENCE { INTEGER r, INTEGER s } → raw r‖s.
    const rLen = sig[3] as number;
    const r = sig.subarray(4, 4 + rLen);
    const s = sig.subarray(6 + rLen);
    const raw = Buffer.concat([
      r.subarray(-32).length < 32 ? Buffer.alloc(32 - r.length) : Buffer.alloc(0),
      r.subarray(-32),
      s.length < 32 ? Buffer.alloc(32 - s.length) : Buffer.alloc(0),
      s.subarray(-32),
    ]);
    const theirKey: Sm2Jwk = { kty: 'EC', crv: 'SM2', x: b64url(pub.slice(2, 66)), y: b64url(pub.slice(66)) };
    expect(await sm2Verify('checkpoint signing input', raw.toString('base64url'), theirKey)).toBe(true);
    expect(await sm2Verify('another input', raw.toString('base64url'), theirKey)).toBe(false);
  });

  it('signs and verifies checkpoints; a wrong key or a changed payload is refused', async () => {
    const { privateJwk, publicJwk } = await generateSm2Jwk('cp-sm2');
    const other = await generateSm2Jwk('cp-sm2');
    const payload = {
      type: 'pipl-audit-checkpoint' as const,
      chain: 'c',
      size: 3,
      lastSeq: 2,
      lastHash: 'ab',
      prevCheckpoint: null,
      firstTime: null,
      lastTime: null,
      issuedAt: '2026-12-01T00:00:00.000Z',
      trigger: 'records' as const,
    };
    const jws = await signCheckpoint(payload, { key: privateJwk as never, alg: 'SM2SM3', kid: 'cp-sm2' });
    expect(JSON.parse(Buffer.from(jws.split('.')[0] as string, 'base64url').toString())).toEqual({
      alg: 'SM2SM3',
      kid: 'cp-sm2',
      typ: 'pipl-audit-checkpoint+jws',
    });
    expect(await verifyCheckpoint(jws, { keys: [publicJwk as never] })).toMatchObject({ ok: true, payload });
    expect(await verifyCheckpoint(jws, { keys: [other.publicJwk as never] })).toMatchObject({
      ok: false,
      reason: 'signature',
    });
    const [h, , sig] = jws.split('.');
    const forged = `${h}.${Buffer.from(JSON.stringify({ ...payload, lastSeq: 9 })).toString('base64url')}.${sig}`;
    expect(await verifyCheckpoint(forged, { keys: [publicJwk as never] })).toMatchObject({
      ok: false,
      reason: 'signature',
    });
    expect(await verifyCheckpoint(jws, { keys: [{ ...publicJwk, kid: 'x' } as never] })).toMatchObject({
      ok: false,
      reason: 'unknown_key',
    });
  });
});
