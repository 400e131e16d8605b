/**
 * Detection, masking, key paths and the risk and service rules, without a
 * database. Masked values are compared with the marker written as <M>
 * (`***sha256:` and 8 hex digits); every expected text, key path and level is
 * written by hand.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { analyzeChange, lineDiff } from './analysis.ts';
import { detectType, flattenNginx, maskerFor, maskSecrets, parseNginxTree } from './formats.ts';
import type { ConfigType } from './schema.ts';

const M = /\*\*\*sha256:[0-9a-f]{8}/g;
const mask = (text: string, type: ConfigType, path = '/etc/app/x') => maskSecrets(text, type, maskerFor('node-1', path));
const shape = (text: string, type: ConfigType) => mask(text, type).replace(M, '<M>');

test('the type of a file: from its path first, else guessed from its content', () => {
  const cases: [string, string, ConfigType, string][] = [
    ['/etc/nginx/nginx.conf', 'events {}\n', 'nginx', 'path'],
    ['/etc/nginx/sites-enabled/default', 'server { listen 80; }\n', 'nginx', 'path'],
    ['/srv/stack/docker-compose.yml', 'services: {}\n', 'docker-compose', 'path'],
    ['/srv/stack/compose.prod.yaml', 'services: {}\n', 'docker-compose', 'path'],
    ['/etc/ssh/sshd_config', 'Port 22\n', 'sshd_config', 'path'],
    ['/etc/ssh/sshd_config.d/10-hardening.conf', 'PermitRootLogin no\n', 'sshd_config', 'path'],
    ['/etc/systemd/system/backup.timer', '[Timer]\nOnCalendar=daily\n', 'systemd', 'path'],
    ['/srv/app/.env', 'A=1\n', 'env', 'path'],
    ['/srv/app/.env.production', 'A=1\n', 'env', 'path'],
    ['/srv/app/config.yaml', 'a: 1\n', 'yaml', 'path'],
    ['/srv/app/config.json', '{}', 'json', 'path'],
    ['/etc/php/php.ini', '[PHP]\nmemory_limit = 128M\n', 'ini', 'path'],
    ['/opt/app/settings', '{"a": 1}\n', 'json', 'content'],
    ['/opt/app/unit', '[Unit]\nDescription=x\n', 'systemd', 'content'],
    ['/opt/proxy/site.conf', 'server {\n  listen 80;\n}\n', 'nginx', 'content'],
    ['/opt/stack/stack.conf', 'services:\n  web:\n    image: x\n', 'docker-compose', 'content'],
    ['/etc/my.cnf', '[mysqld]\nport = 3306\n', 'ini', 'content'],
    ['/opt/app/vars', '# vars\nA=1\nexport B=2\n', 'env', 'content'],
    ['/opt/app/conf', 'name: x\nlist:\n  - 1\n', 'yaml', 'content'],
    ['/etc/hosts', '127.0.0.1 localhost\n', 'text', 'none'],
  ];
  for (const [path, content, type, by] of cases) assert.deepEqual([path, detectType(path, content).type, detectType(path, content).by], [path, type, by]);
});

test('secrets are masked in every form; the rest of the file is left as it was', () => {
  assert.equal(
    shape('DB_HOST=db\nDB_PASSWORD=hunter2\nAPI_TOKEN="abc def"\n# password=old\nDATABASE_URL=postgres://app:s3cret@db:5432/app\nEMPTY_SECRET=\nREF_PASSWORD=${FROM_VAULT}\n', 'env'),
    'DB_HOST=db\nDB_PASSWORD=<M>\nAPI_TOKEN="<M>"\n# password=<M>\nDATABASE_URL=postgres://app:<M>@db:5432/app\nEMPTY_SECRET=\nREF_PASSWORD=${FROM_VAULT}\n',
  );
  assert.equal(
    shape(
      'services:\n  db:\n    environment:\n      - POSTGRES_PASSWORD=hunter2\n      - POSTGRES_USER=app\n  web:\n    password: x y z # note\n    credentials:\n      user: bob\n      key: abc\n    tls_key: |\n      line one\n      line two\n    enabled: true\n',
      'docker-compose',
    ),
    'services:\n  db:\n    environment:\n      - POSTGRES_PASSWORD=<M>\n      - POSTGRES_USER=app\n  web:\n    password: "<M>" # note\n    credentials:\n      user: "<M>"\n      key: "<M>"\n    tls_key: |\n      line one\n      line two\n    enabled: true\n',
  );
  assert.equal(shape('db: { user: bob, password: x y, port: 5432 }\nweb: {token: "t", debug: true}\n', 'yaml'), 'db: { user: bob, password: "<M>", port: 5432 }\nweb: {token: "<M>", debug: true}\n');
  assert.equal(shape('{"api_key": "abc", "name": "x", "nested": {"token": 123, "port": 8080}}\n', 'json'), '{"api_key": "<M>", "name": "x", "nested": {"token": "<M>", "port": 8080}}\n');
  assert.equal(
    shape('PasswordAuthentication no\nPort 22\n', 'sshd_config'),
    'PasswordAuthentication no\nPort 22\n',
    'yes/no values of secret-looking keys are settings, not secrets',
  );
  assert.equal(
    shape('location / {\n    proxy_set_header Authorization "Bearer abc123";\n    auth_basic_user_file /etc/nginx/.htpasswd;\n}\n', 'nginx'),
    'location / {\n    proxy_set_header Authorization "Bearer <M>";\n    auth_basic_user_file /etc/nginx/.htpasswd;\n}\n',
  );
  assert.equal(
    shape('ssl:\n  key: |\n    -----BEGIN PRIVATE KEY-----\n    MIIEvQIBADANBg\n    kqhkiG9w0BAQEF\n    -----END PRIVATE KEY-----\n  cert: |\n    -----BEGIN CERTIFICATE-----\n    MIIDdzCCAl+gAw\n    -----END CERTIFICATE-----\n', 'yaml'),
    'ssl:\n  key: |\n    -----BEGIN PRIVATE KEY-----\n    <M>\n    -----END PRIVATE KEY-----\n  cert: |\n    -----BEGIN CERTIFICATE-----\n    MIIDdzCCAl+gAw\n    -----END CERTIFICATE-----\n',
  );
});

test('a marker is stable for one value of one file and differs across values and files', () => {
  const a = mask('TOKEN=abc\n', 'env', '/srv/a/.env');
  assert.equal(mask('TOKEN=abc\n', 'env', '/srv/a/.env'), a);
  assert.notEqual(mask('TOKEN=abd\n', 'env', '/srv/a/.env'), a);
  assert.notEqual(mask('TOKEN=abc\n', 'env', '/srv/b/.env'), a);
  assert.ok(!a.includes('abc'));
});

test('nginx key paths: server blocks by server_name (else listen), locations by their argument, repeated labels numbered', () => {
  const tree = parseNginxTree(`http {
  server { listen 80; listen [::]:80; return 301 https://$host$request_uri; }
  server {
    listen 443 ssl;
    server_name example.org www.example.org;
    ssl_certificate /etc/ssl/example.pem;
    location /api/ { proxy_pass http://127.0.0.1:8080; }
    location "/a b" { root /srv; }
  }
  server { server_name example.org; listen 8443; }
}
`);
  assert.deepEqual([...flattenNginx(tree)], [
    ['http.server[listen=80].listen', '80 | [::]:80'],
    ['http.server[listen=80].return', '301 https://$host$request_uri'],
    ['http.server[server_name=example.org].listen', '443 ssl'],
    ['http.server[server_name=example.org].server_name', 'example.org www.example.org'],
    ['http.server[server_name=example.org].ssl_certificate', '/etc/ssl/example.pem'],
    ['http.server[server_name=example.org].location[/api/].proxy_pass', 'http://127.0.0.1:8080'],
    ['http.server[server_name=example.org].location[/a b].root', '/srv'],
    ['http.server[server_name=example.org]#2.server_name', 'example.org'],
    ['http.server[server_name=example.org]#2.listen', '8443'],
  ]);
  assert.throws(() => parseNginxTree('http { server { listen 80 }'), /not terminated|missing/);
});

const change = (path: string, before: string, after: string) => analyzeChange(path, detectType(path, before), before, after);
const ruleIds = (a: ReturnType<typeof analyzeChange>) => a.rules.map((r) => `${r.rule}:${r.risk}`);

test('risk rules: each matching rule with its level; none → MEDIUM', () => {
  const compose = 'services:\n  app:\n    image: app:1\n';
  assert.deepEqual(ruleIds(change('/srv/compose.yml', compose, `${compose}    privileged: true\n`)), ['compose-privileged:HIGH']);
  assert.deepEqual(ruleIds(change('/srv/compose.yml', compose, `${compose}    network_mode: host\n`)), ['compose-host-namespaces:HIGH']);
  assert.deepEqual(ruleIds(change('/srv/compose.yml', compose, `${compose}    volumes:\n      - /var/run/docker.sock:/var/run/docker.sock\n`)), ['compose-host-mount:HIGH']);
  assert.deepEqual(ruleIds(change('/srv/compose.yml', compose, `${compose}    volumes:\n      - ./data:/data\n`)), ['default:MEDIUM']);
  assert.deepEqual(ruleIds(change('/srv/compose.yml', compose, compose.replace('app:1', 'app:2'))), ['default:MEDIUM']);
  assert.deepEqual(ruleIds(change('/etc/ssh/sshd_config', 'PermitRootLogin no\nX11Forwarding no\n', 'PermitRootLogin yes\nX11Forwarding no\n')), ['sshd-access:HIGH']);
  assert.deepEqual(ruleIds(change('/etc/ssh/sshd_config', 'PermitRootLogin no\nX11Forwarding no\n', 'PermitRootLogin no\nX11Forwarding yes\n')), ['default:MEDIUM']);
  assert.deepEqual(ruleIds(change('/etc/nginx/conf.d/a.conf', 'server {\n  server_name a;\n  ssl_protocols TLSv1.2;\n}\n', 'server {\n  server_name a;\n  ssl_protocols TLSv1.3;\n}\n')), ['nginx-exposure:HIGH']);
  assert.deepEqual(ruleIds(change('/etc/nginx/conf.d/a.conf', 'server {\n  server_name a;\n  root /srv;\n}\n', 'server {\n  server_name a;\n  root /srv/www;\n}\n')), ['default:MEDIUM']);
  // An unparsed file: a masked line that changed is a secret change.
  const m = maskerFor('node-1', '/etc/hosts');
  assert.deepEqual(ruleIds(analyzeChange('/etc/hosts', detectType('/etc/hosts', ''), maskSecrets('a\ntoken=x\n', 'text', m), maskSecrets('a\ntoken=y\n', 'text', m))), ['secret-changed:HIGH']);
  assert.deepEqual(ruleIds(change('/etc/hosts', '127.0.0.1 localhost\n', '# hosts\n127.0.0.1   localhost\n')), ['cosmetic:LOW']);
});

test('services and restarts per type', () => {
  const unit = change('/etc/systemd/system/backup.service', '[Service]\nExecStart=/usr/bin/backup\n', '[Service]\nExecStart=/usr/bin/backup --full\n');
  assert.deepEqual([unit.impact.affectedServices, unit.impact.requiresRestart, unit.impact.action], [['backup.service'], true, 'daemon-reload+restart']);
  assert.deepEqual(unit.keyChanges, [{ key: 'Service.ExecStart', change: 'changed', old: '/usr/bin/backup', new: '/usr/bin/backup --full' }]);
  const top = change('/srv/compose.yml', 'services:\n  a:\n    image: a\n  b:\n    image: b\nnetworks:\n  n: {}\n', 'services:\n  a:\n    image: a\n  b:\n    image: b\nnetworks:\n  n:\n    internal: true\n');
  assert.deepEqual(top.impact.affectedServices, ['a', 'b'], 'a change outside services: affects them all');
  const ini = change('/etc/app/app.ini', '[main]\nport = 1\n', '[main]\nport = 2\n');
  assert.deepEqual([ini.impact.affectedServices, ini.impact.requiresRestart, ini.confidenceScore, ini.keyChanges], [[], false, 0.9, [{ key: 'main.port', change: 'changed', old: '1', new: '2' }]]);
  const guessed = change('/opt/app/settings', '{"a": 1}', '{"a": 2}');
  assert.equal(guessed.confidenceScore, 0.7);
  const broken = change('/srv/app/config.json', '{"a": 1}', '{"a": ');
  assert.deepEqual([broken.parsed, broken.confidenceScore, broken.keyChanges], [false, 0.5, []]);
});

test('a diff with more edits than the limit gives up: every line removed and added, no unified diff, truncated', () => {
  const d = lineDiff('/srv/a.txt', 'a\nb\nc\n', 'x\ny\nz\nw\n', 'old', 'new', 2);
  assert.deepEqual([d.lines, d.unifiedDiff, d.truncated, d.removedLines, d.addedLines], [{ added: 4, removed: 3, changed: 0 }, '', true, ['a', 'b', 'c'], ['x', 'y', 'z', 'w']]);
  const within = lineDiff('/srv/a.txt', 'a\nb\nc\n', 'a\nB\nc\n', 'old', 'new', 2);
  assert.deepEqual([within.lines, within.truncated], [{ added: 0, removed: 0, changed: 1 }, false]);
});
