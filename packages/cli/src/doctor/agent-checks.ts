// The judgement of `sigil doctor agent`: pure functions over the facts gather-agent collected.
import { renewalTime } from '@sigil/agent';
import { parseCertificatesPem } from '@sigil/pki';
import { fail, pass, warn } from './catalogue';
import type { DoctorCheckResult } from './catalogue';
import { chainChecks, expiryCheck } from './certificate-checks';
import { checkConnect } from './connect-checks';
import type { AgentFacts } from './gather-agent';

const ENROLL_AGAIN =
  "enroll again with a new token (sigil admin tokens create, then the agent's enroll command)";

/** Every check of `sigil doctor agent`, in order. */
export function checkAgent(facts: AgentFacts, now: Date): DoctorCheckResult[] {
  const subject = facts.stateDir;
  if ('error' in facts.identity) {
    const { code, message } = facts.identity.error;
    return [
      fail(
        'agent-identity',
        message,
        code === 'ERR_STATE_INVALID'
          ? `${ENROLL_AGAIN}, or restore STATE_DIR from a backup`
          : 'fix STATE_DIR as the message says (the agent refuses it the same way)',
        subject,
      ),
    ];
  }
  const identity = facts.identity.value;
  if (identity === undefined) {
    return [
      fail(
        'agent-identity',
        `no identity in ${facts.stateDir}: the agent has not enrolled (or STATE_DIR points elsewhere)`,
        "enroll with a token (ENROLLMENT_TOKEN, CONTROLLER_ADDR, CONTROLLER_CA_PATH), or point --state-dir at the unit's StateDirectory",
        subject,
      ),
    ];
  }
  const results: DoctorCheckResult[] = [
    pass(
      'agent-identity',
      `${identity.kind} ${identity.agentId} (${identity.spiffeId}), enrolled ${identity.enrolledAt.toISOString()}, ${identity.renewals} renewal(s), bundle version ${identity.bundleVersion}`,
      subject,
    ),
  ];
  const chain = parseCertificatesPem(identity.certificateChainPem, 'tls.crt');
  const bundle = parseCertificatesPem(identity.bundlePem, 'ca.crt');
  results.push(
    ...chainChecks(chain, bundle, now, {
      certificate: `${facts.stateDir}/tls.crt`,
      privateKey: `${facts.stateDir}/tls.key`,
      ca: `${facts.stateDir}/ca.crt`,
    }),
  );
  const expired = now.getTime() >= identity.notAfter.getTime();
  results.push(
    expiryCheck(chain, now, 0, {
      subject: `${facts.stateDir}/tls.crt`,
      renew: `${ENROLL_AGAIN}: an expired identity cannot renew`,
      renewsItself: true,
    }),
  );
  if (!expired) {
    // The latest moment the agent schedules its renewal (30 % of the lifetime left, no jitter).
    const due = renewalTime(identity, { jitterFraction: 0 });
    results.push(
      now.getTime() > due.getTime()
        ? warn(
            'agent-renewal',
            `stale: the certificate was due for renewal by ${due.toISOString()} and expires ${identity.notAfter.toISOString()}`,
            `check that the ${identity.kind} runs (systemctl status sigil-${identity.kind}) and reaches the controller; its log says why renewal fails`,
            subject,
          )
        : pass('agent-renewal', `renewal due by ${due.toISOString()}`, subject),
    );
  }
  for (const controller of facts.controllers) {
    for (const result of checkConnect(controller, {
      giveCa: 'the CA pinned at enrollment is STATE_DIR/controller-ca.crt',
      giveCertificate: ENROLL_AGAIN,
      health: false,
    })) {
      if (result.check === 'handshake') {
        results.push(
          result.status === 'pass'
            ? { ...result, check: 'controller-reachable' }
            : {
                ...result,
                check: 'controller-reachable',
                fix: `start the controller, or make ${controller.address} reachable from this host (the addresses enrollment persisted are in STATE_DIR/agent.json; enroll again to change them)`,
              },
        );
      } else if (result.check === 'server-verified') {
        results.push(
          result.status === 'pass'
            ? {
                ...result,
                check: 'controller-trust',
                message:
                  "the controller's chain verifies against the agent's bundle and the pinned controller CA",
              }
            : {
                ...result,
                check: 'controller-trust',
                fix: `the controller's certificate verifies against neither the agent's bundle nor the CA pinned at enrollment: if the controller's CAs changed on purpose, ${ENROLL_AGAIN}; otherwise this is not your controller`,
              },
        );
      } else {
        results.push(result);
      }
    }
  }
  if (facts.controllers.length === 0)
    results.push(
      fail('controller-reachable', 'no controller address persisted', ENROLL_AGAIN, subject),
    );
  return results;
}
