import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadConfig } from '../../../src/config/index.ts';
import { classifyAddress, embeddedIPv4, type AddressClass } from '../../../src/net/index.ts';
import { webhookUrlProblem, WebhookPolicy } from '../../../src/jobs/egress.ts';

// Resolved addresses only (what dns.lookup and the URL parser give): canonical forms, no
// decimal or hex IPv4 spellings.
const CASES: ReadonlyArray<readonly [string, AddressClass]> = [
  // IPv4
  ['8.8.8.8', 'public'],
  ['1.1.1.1', 'public'],
  ['93.184.216.34', 'public'],
  ['172.15.255.255', 'public'], // just below 172.16/12
  ['172.32.0.1', 'public'], // just above it
  ['100.63.255.255', 'public'], // just below 100.64/10
  ['223.255.255.255', 'public'],
  ['127.0.0.1', 'loopback'],
  ['127.255.255.254', 'loopback'],
  ['10.0.0.5', 'private'],
  ['172.16.0.1', 'private'],
  ['172.31.255.255', 'private'],
  ['192.168.1.1', 'private'],
  ['169.254.169.254', 'link-local'], // cloud metadata
  ['100.64.0.1', 'shared'],
  ['100.127.255.255', 'shared'],
  ['0.0.0.0', 'unspecified'],
  ['0.1.2.3', 'unspecified'],
  ['224.0.0.1', 'multicast'],
  ['239.255.255.250', 'multicast'],
  ['240.0.0.1', 'reserved'],
  ['255.255.255.255', 'reserved'],
  ['198.18.0.1', 'benchmarking'],
  ['198.19.255.255', 'benchmarking'],
  ['192.0.2.10', 'documentation'],
  ['198.51.100.7', 'documentation'],
  ['203.0.113.9', 'documentation'],
  ['192.0.0.170', 'reserved'],
  // IPv6
  ['2606:4700:4700::1111', 'public'],
  ['2001:4860:4860::8888', 'public'],
  ['::1', 'loopback'],
  ['::', 'unspecified'],
  ['fe80::1', 'link-local'],
  ['fe80::1%eth0', 'link-local'],
  ['febf:ffff::1', 'link-local'],
  ['fc00::1', 'private'],
  ['fd12:3456:789a::1', 'private'],
  ['ff02::1', 'multicast'],
  ['2001:db8::1', 'documentation'],
  ['2001::1', 'reserved'], // Teredo
  ['100::1', 'reserved'],
  ['4000::1', 'reserved'], // outside 2000::/3
  ['FD00::ABCD', 'private'],
  // IPv4 inside IPv6: judged by the IPv4 address
  ['::ffff:127.0.0.1', 'loopback'],
  ['::ffff:7f00:1', 'loopback'],
  ['0:0:0:0:0:ffff:a00:5', 'private'],
  ['::ffff:169.254.169.254', 'link-local'],
  ['::ffff:8.8.8.8', 'public'],
  ['::10.0.0.1', 'private'], // IPv4-compatible (deprecated)
  ['64:ff9b::10.0.0.1', 'private'], // NAT64
  ['64:ff9b::a9fe:a9fe', 'link-local'],
  ['64:ff9b::808:808', 'public'],
  ['64:ff9b:1::1', 'private'], // local-use NAT64
  ['2002:7f00:1::1', 'loopback'], // 6to4 of 127.0.0.1
  ['2002:c0a8:101::', 'private'], // 6to4 of 192.168.1.1
  ['2002:808:808::1', 'public'],
];

describe('classifyAddress', () => {
  for (const [address, expected] of CASES) {
    it(`${address} is ${expected}`, () => assert.equal(classifyAddress(address), expected));
  }
  it('covers enough addresses of every form', () => {
    assert.ok(CASES.length >= 25);
    assert.ok(CASES.filter(([a]) => a.includes(':')).length >= 20);
  });
  it('throws for what is not an address', () => {
    assert.throws(() => classifyAddress('example.com'), TypeError);
    assert.throws(() => classifyAddress('300.1.1.1'), TypeError);
  });
  it('finds the IPv4 address in mapped, compatible, NAT64 and 6to4 forms', () => {
    assert.equal(embeddedIPv4('::ffff:1.2.3.4'), '1.2.3.4');
    assert.equal(embeddedIPv4('::ffff:102:304'), '1.2.3.4');
    assert.equal(embeddedIPv4('::1.2.3.4'), '1.2.3.4');
    assert.equal(embeddedIPv4('64:ff9b::102:304'), '1.2.3.4');
    assert.equal(embeddedIPv4('2002:102:304:5::6'), '1.2.3.4');
    assert.equal(embeddedIPv4('::1'), undefined);
    assert.equal(embeddedIPv4('::'), undefined);
    assert.equal(embeddedIPv4('2001:db8::1'), undefined);
  });
});

describe('WebhookPolicy', () => {
  it('refuses every non-public address by default and allows public ones', () => {
    const p = WebhookPolicy.publicOnly;
    assert.equal(p.refusal('example.com', '93.184.216.34'), undefined);
    assert.match(p.refusal('example.com', '10.0.0.5')!, /10\.0\.0\.5 is private/);
    assert.match(p.refusal('169.254.169.254', '169.254.169.254')!, /link-local/);
    assert.match(p.refusal('x', '::ffff:127.0.0.1')!, /loopback/);
  });
  it('allows CIDRs, single addresses and host names from the list', () => {
    const p = new WebhookPolicy({ allow: ' 127.0.0.1/32, 10.1.0.0/16 ,fd00::/8,192.168.5.5, hook, *.svc.internal.' });
    assert.equal(p.refusal('a', '127.0.0.1'), undefined);
    assert.ok(p.refusal('a', '127.0.0.2'));
    assert.equal(p.refusal('a', '10.1.200.3'), undefined);
    assert.ok(p.refusal('a', '10.2.0.1'));
    assert.equal(p.refusal('a', 'fd00::5'), undefined);
    assert.equal(p.refusal('a', '192.168.5.5'), undefined);
    assert.ok(p.refusal('a', '192.168.5.6'));
    assert.equal(p.refusal('a', '::ffff:127.0.0.1'), undefined); // mapped form of an allowed address
    // Allowed names may resolve to any unicast address; other names may not.
    assert.equal(p.refusal('hook', '172.18.0.4'), undefined);
    assert.equal(p.refusal('HOOK.', '172.18.0.4'), undefined);
    assert.equal(p.refusal('a.svc.internal', '172.18.0.4'), undefined);
    assert.ok(p.refusal('svc.internal', '172.18.0.4'));
    assert.ok(p.refusal('hook2', '172.18.0.4'));
    assert.ok(p.refusal('evil-svc.internal.example', '172.18.0.4'));
  });
  it('never allows unspecified or multicast addresses, whatever the list says', () => {
    const p = new WebhookPolicy({ allow: '0.0.0.0/0, ::/0, hook' });
    assert.equal(p.refusal('a', '10.0.0.1'), undefined);
    assert.ok(p.refusal('a', '0.0.0.0'));
    assert.ok(p.refusal('hook', '224.0.0.1'));
    assert.ok(p.refusal('hook', '::'));
  });
  it('LOUPE_WEBHOOK_ALLOW is checked when the configuration loads', () => {
    assert.equal(loadConfig({}).LOUPE_WEBHOOK_ALLOW, '');
    assert.equal(loadConfig({ LOUPE_WEBHOOK_ALLOW: '127.0.0.1/32, hook' }).LOUPE_WEBHOOK_ALLOW, '127.0.0.1/32, hook');
    for (const bad of ['http://hook', 'hook:9000/x/y', 'a;b'])
      assert.throws(
        () => loadConfig({ LOUPE_WEBHOOK_ALLOW: bad }),
        /^ConfigError: invalid configuration: LOUPE_WEBHOOK_ALLOW /,
      );
  });
});

describe('webhookUrlProblem (at submit time)', () => {
  const strict = WebhookPolicy.publicOnly;
  it('accepts http(s) URLs with a host name or a public address', () => {
    for (const url of ['https://example.com/hook?token=1', 'http://example.com:8080/', 'https://93.184.216.34/x'])
      assert.equal(webhookUrlProblem(url, strict), undefined, url);
  });
  it('refuses other schemes, credentials and refused literal addresses', () => {
    assert.match(webhookUrlProblem('ftp://example.com/', strict)!, /http or https/);
    assert.match(webhookUrlProblem('file:///etc/passwd', strict)!, /http or https/);
    assert.match(webhookUrlProblem('not a url', strict)!, /not a valid URL/);
    assert.match(webhookUrlProblem('https://user:pw@example.com/', strict)!, /credentials/);
    assert.match(webhookUrlProblem('https://user@example.com/', strict)!, /credentials/);
    for (const url of [
      'http://127.0.0.1:8000/',
      'http://169.254.169.254/latest/meta-data/',
      'http://[::1]/',
      'http://[::ffff:10.0.0.1]/',
      'http://[fd00::1]/',
      'http://0.0.0.0/',
      'http://2130706433/', // the URL parser makes it 127.0.0.1
      'http://0x7f.1/',
    ])
      assert.match(webhookUrlProblem(url, strict)!, /not allowed/, url);
  });
  it('accepts a literal address the allow-list names', () => {
    assert.equal(webhookUrlProblem('http://127.0.0.1:9/', new WebhookPolicy({ allow: '127.0.0.1/32' })), undefined);
  });
});
