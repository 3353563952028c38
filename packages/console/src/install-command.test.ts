import {
  DEFAULT_CA_PATH,
  buildEnrollCommand,
  buildInstallCommand,
  defaultControllerAddr,
  hostPort,
  shellQuote,
} from './install-command';

const connector = {
  kind: 'connector' as const,
  id: 'edge-1',
  token: 'sigil_et_3q2-7wAAAAAAb1u7f9c2bW1d0kQ8xZr5mP0aS2vH4nE',
  controllerAddr: '10.0.0.5:8443',
  caPath: DEFAULT_CA_PATH,
};

describe('buildInstallCommand', () => {
  it('is the setup.sh one-liner of docs/operations.md for a connector', () => {
    expect(buildInstallCommand(connector)).toBe(
      'sudo CONTROLLER_ADDR=10.0.0.5:8443 CONNECTOR_ID=edge-1 ' +
        'ENROLLMENT_TOKEN=sigil_et_3q2-7wAAAAAAb1u7f9c2bW1d0kQ8xZr5mP0aS2vH4nE ' +
        'CONTROLLER_CA_PATH=/etc/sigil/controller-ca.crt bash scripts/setup.sh',
    );
  });
  it('names the connector address and tunneler-setup.sh for a tunneler', () => {
    expect(
      buildInstallCommand({
        ...connector,
        kind: 'tunneler',
        id: 'laptop-7',
        connectorAddr: '10.0.0.7:9443',
      }),
    ).toBe(
      'sudo CONTROLLER_ADDR=10.0.0.5:8443 CONNECTOR_ADDR=10.0.0.7:9443 TUNNELER_ID=laptop-7 ' +
        'ENROLLMENT_TOKEN=sigil_et_3q2-7wAAAAAAb1u7f9c2bW1d0kQ8xZr5mP0aS2vH4nE ' +
        'CONTROLLER_CA_PATH=/etc/sigil/controller-ca.crt bash scripts/tunneler-setup.sh',
    );
  });
  it('quotes a value the shell would split or expand', () => {
    expect(buildInstallCommand({ ...connector, caPath: '/root/my ca.crt' })).toContain(
      "CONTROLLER_CA_PATH='/root/my ca.crt' bash",
    );
  });
});

describe('buildEnrollCommand', () => {
  it('is the sigil-<kind> enroll of docs/agents.md with a state directory', () => {
    expect(buildEnrollCommand(connector)).toBe(
      'CONTROLLER_ADDR=10.0.0.5:8443 CONNECTOR_ID=edge-1 ' +
        'ENROLLMENT_TOKEN=sigil_et_3q2-7wAAAAAAb1u7f9c2bW1d0kQ8xZr5mP0aS2vH4nE ' +
        'CONTROLLER_CA_PATH=/etc/sigil/controller-ca.crt STATE_DIR=/var/lib/sigil-connector ' +
        'sigil-connector enroll',
    );
  });
});

describe('shellQuote and hostPort', () => {
  it('leaves safe words alone and single-quotes the rest', () => {
    expect(shellQuote('edge-1.example_org')).toBe('edge-1.example_org');
    expect(shellQuote('$(reboot)')).toBe("'$(reboot)'");
    expect(shellQuote("it's")).toBe("'it'\\''s'");
    expect(shellQuote('')).toBe("''");
  });
  it('brackets an IPv6 host', () => {
    expect(hostPort('::1', 8443)).toBe('[::1]:8443');
    expect(hostPort('[fd00::7]', 9443)).toBe('[fd00::7]:9443');
    expect(hostPort('controller.example.org', 8443)).toBe('controller.example.org:8443');
  });
});

describe('defaultControllerAddr', () => {
  it('takes the listen address, the page host for a wildcard one', () => {
    expect(defaultControllerAddr('10.0.0.5:9443', 'localhost')).toBe('10.0.0.5:9443');
    expect(defaultControllerAddr('0.0.0.0:8443', 'ctl.example.org')).toBe('ctl.example.org:8443');
    expect(defaultControllerAddr('[::]:8443', 'ctl.example.org')).toBe('ctl.example.org:8443');
    expect(defaultControllerAddr('[fd00::5]:8443', 'x')).toBe('[fd00::5]:8443');
  });
  it('falls back to the page host and port 8443 without a usable address', () => {
    expect(defaultControllerAddr(null, '192.0.2.9')).toBe('192.0.2.9:8443');
    expect(defaultControllerAddr('garbage', '::1')).toBe('[::1]:8443');
  });
});
