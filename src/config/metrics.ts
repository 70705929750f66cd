/**
 * CloudWatch metric names, defined once: the functions emit them (Powertools metrics,
 * EMF) and the CDK construct builds alarms and the dashboard on them.
 */
export const METRICS = {
  namespace: 'certloop',
  /** Certificates published (worker). */
  issued: 'CertificatesIssued',
  /** Attempts that failed and backed off, or became invalid (worker). */
  failed: 'CertificateFailures',
  /** Renewal information (ARI) reads that failed; never a certificate failure (worker). */
  renewalInfoFailures: 'RenewalInfoCheckFailures',
  /**
   * Records deferred because their issuer's ACME account could not be found or created
   * (a refused External Account Binding, an unreadable HMAC key secret); never a
   * certificate failure (worker). The issuer's configuration needs a person.
   */
  accountErrors: 'AccountErrors',
  /**
   * Announcements (EventBridge events) that could not be published after the SDK's
   * retries; the work they announce is done all the same (worker, STEK rotation).
   */
  eventsFailed: 'EventsFailed',
  /** Records found due by one planner run (planner). */
  dueBacklog: 'DueBacklog',
  /** Seconds the oldest due record has waited (planner). */
  oldestDueSeconds: 'OldestDueSeconds',
  /** Due records one planner run left for later: the CA's order budget was spent (planner). */
  heldByBudget: 'HeldByBudget',
  /**
   * Certificates at risk for their lifetime: under min(14 days, a third of the lifetime)
   * left, or past their renewal time by more than a sixth of it (sweep). The expiry alarm.
   */
  certificatesAtRisk: 'CertificatesAtRisk',
  /** Fewest days left before any managed certificate expires (sweep; a graph, no alarm). */
  minDaysToExpiry: 'MinDaysToExpiry',
  /**
   * Budgeted (non-exempt) orders the fleet as registered places per budget window in
   * the steady state, and the budget itself (sweep): the capacity line.
   */
  budgetedOrdersPerWindow: 'BudgetedOrdersPerWindow',
  orderBudget: 'OrderBudget',
  /** Records that are invalid and wait for a change (sweep). */
  invalidRecords: 'InvalidRecords',
} as const;
