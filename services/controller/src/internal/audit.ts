import type pino from 'pino';
import type { AuditRecord, ControllerStore, NewAuditRecord } from '../store/store';

/** What callers give: the time is filled in. */
export type AuditEntry = Omit<NewAuditRecord, 'at'>;

/** Audit trail: every record goes to the store and out as one pino `audit` event. */
export interface AuditLog {
  /** Builds a record stamped with the current time (for writes done inside a store transaction). */
  entry(entry: AuditEntry): NewAuditRecord;
  /** Logs a record the store already holds (written inside a transaction). */
  logged(record: NewAuditRecord): void;
  /** Stores and logs a record. A store failure is logged, never thrown: auditing must not turn a refusal into a crash. */
  record(entry: AuditEntry): Promise<AuditRecord | undefined>;
}

export function createAuditLog(
  store: ControllerStore,
  logger: pino.Logger,
  clock: () => Date,
): AuditLog {
  const log = (record: NewAuditRecord): void => {
    const level = record.outcome === 'refused' ? 'warn' : 'info';
    logger[level](
      {
        event: 'audit',
        action: record.action,
        outcome: record.outcome,
        actor: record.actor,
        subject: record.subject,
        details: record.details,
      },
      'audit',
    );
  };
  const entry = (e: AuditEntry): NewAuditRecord => ({ ...e, at: clock().getTime() });
  return {
    entry,
    logged: log,
    async record(e) {
      const record = entry(e);
      log(record);
      try {
        return await store.appendAudit(record);
      } catch (err) {
        logger.error(
          { event: 'audit.store_failed', action: record.action, err },
          'audit.store_failed',
        );
        return undefined;
      }
    },
  };
}
