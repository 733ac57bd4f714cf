"""The statement triggers that feed the rollups: every INSERT (or COPY) into an event table
appends its counts, grouped by hour and dimension, to insights_delta in the same transaction.

Why triggers: the code that writes events lives in lower layers (rules, enforcement, review)
and writes through several paths (the engine's COPY, bulk_create with ignore_conflicts, single
saves); a trigger sees exactly the rows each statement inserted (the transition table leaves out
rows skipped by ON CONFLICT DO NOTHING), commits or rolls back with them, and needs no Python
hook. Per-statement grouping keeps the outbox small: one COPY of 10,000 rule executions writes
one delta row per rule and hour.

A trigger on a partitioned table must be created on the parent (it then sees the rows of every
partition): after an event table is re-created as a partitioned table, call `install()` again.
"""

from __future__ import annotations

# (trigger/function name, table, body inserting into insights_delta from `new_rows`)
TRIGGERS: tuple[tuple[str, str, str], ...] = (
    (
        "insights_rule_executions",
        "rules_ruleexecution",
        """
        INSERT INTO insights_delta (kind, hour, k1, k2, k3, n1, n2, n3)
        SELECT 'rule', date_trunc('hour', created_at, 'UTC'), rule_id, environment, '',
               count(*), count(*) FILTER (WHERE outcome = 'PASSED'),
               count(*) FILTER (WHERE outcome = 'ERRORED')
        FROM new_rows GROUP BY 2, 3, 4;
        """,
    ),
    (
        "insights_action_executions",
        "enforcement_actionexecution",
        """
        INSERT INTO insights_delta (kind, hour, k1, k2, k3, n1, n2, n3)
        SELECT 'action', date_trunc('hour', created_at, 'UTC'), action_id, source, '',
               count(*) FILTER (WHERE refused_reason = ''),
               count(*) FILTER (WHERE refused_reason <> ''), 0
        FROM new_rows GROUP BY 2, 3, 4;
        INSERT INTO insights_delta (kind, hour, k1, k2, k3, n1, n2, n3)
        SELECT 'action_policy', date_trunc('hour', e.created_at, 'UTC'), p.policy_id,
               e.action_id, e.source, count(*), 0, 0
        FROM new_rows e,
             unnest(CASE WHEN cardinality(e.policy_ids) > 0 THEN e.policy_ids
                         ELSE ARRAY['']::varchar[] END) AS p(policy_id)
        WHERE e.refused_reason = ''
        GROUP BY 2, 3, 4, 5;
        INSERT INTO insights_delta (kind, hour, k1, k2, k3, n1, n2, n3)
        SELECT 'rule_action', date_trunc('hour', e.created_at, 'UTC'), r.rule ->> 'id',
               CASE WHEN e.action_id = 'coop.ncmec' THEN 't' ELSE '' END, '', count(*), 0, 0
        FROM new_rows e, jsonb_array_elements(
                 CASE WHEN jsonb_typeof(e.rules) = 'array' THEN e.rules ELSE '[]' END) AS r(rule)
        WHERE e.refused_reason = '' AND r.rule ->> 'id' IS NOT NULL
        GROUP BY 2, 3, 4;
        """,
    ),
    (
        "insights_jobs",
        "review_job",
        """
        INSERT INTO insights_delta (kind, hour, k1, k2, k3, n1, n2, n3)
        SELECT 'job', date_trunc('hour', created_at, 'UTC'), queue_id, source,
               CASE WHEN kind = 'NCMEC' OR queue_id = insights_ncmec_queue() THEN 't' ELSE '' END,
               count(*), 0, 0
        FROM new_rows GROUP BY 2, 3, 4, 5;
        """,
    ),
    (
        "insights_decisions",
        "review_decision",
        """
        INSERT INTO insights_delta (kind, hour, k1, k2, k3, n1, n2, n3)
        SELECT 'decision', date_trunc('hour', d.created_at, 'UTC'), d.queue_id,
               coalesce(d.reviewer_id::text, ''), insights_decision_cs(d.job_id, d.queue_id,
                   d.job_kind, d.types, d.action_ids), count(*), 0, 0
        FROM new_rows d WHERE d.job_id IS NOT NULL GROUP BY 2, 3, 4, 5;
        INSERT INTO insights_delta (kind, hour, k1, k2, k3, n1, n2, n3)
        SELECT 'decision_policy', date_trunc('hour', d.created_at, 'UTC'), d.queue_id,
               p.policy_id, insights_decision_cs(d.job_id, d.queue_id, d.job_kind, d.types,
                   d.action_ids), count(*), 0, 0
        FROM new_rows d,
             unnest(CASE WHEN cardinality(d.policy_ids) > 0 THEN d.policy_ids
                         ELSE ARRAY['']::varchar[] END) AS p(policy_id)
        WHERE d.job_id IS NOT NULL
        GROUP BY 2, 3, 4, 5;
        INSERT INTO insights_delta (kind, hour, k1, k2, k3, n1, n2, n3)
        SELECT 'decision_time', date_trunc('hour', d.created_at, 'UTC'), d.queue_id,
               insights_time_bucket(extract(epoch FROM d.created_at - (
                   SELECT j.created_at FROM review_job j WHERE j.id = d.job_id)))::text,
               insights_decision_cs(d.job_id, d.queue_id, d.job_kind, d.types, d.action_ids),
               count(*), 0, 0
        FROM new_rows d WHERE d.job_id IS NOT NULL
        GROUP BY 2, 3, 4, 5;
        """,
    ),
    (
        "insights_skips",
        "review_skip",
        """
        INSERT INTO insights_delta (kind, hour, k1, k2, k3, n1, n2, n3)
        SELECT 'skip', date_trunc('hour', s.created_at, 'UTC'), s.queue_id,
               insights_decision_cs(s.job_id, s.queue_id, '', '{}', '{}'), '', count(*), 0, 0
        FROM new_rows s GROUP BY 2, 3, 4;
        """,
    ),
)

# A report sent with csam: true makes its job child-safety (coop.review.visibility): the first
# such report of a job that was not child-safety when created moves its "created" count over.
TRIGGERS += (
    (
        "insights_csam_reports",
        "review_report",
        """
        INSERT INTO insights_delta (kind, hour, k1, k2, k3, n1, n2, n3)
        SELECT 'job', date_trunc('hour', j.created_at, 'UTC'), j.queue_id, j.source, side.cs,
               side.n, 0, 0
        FROM (SELECT DISTINCT job_id FROM new_rows WHERE csam) r
        JOIN review_job j ON j.id = r.job_id
        CROSS JOIN (VALUES ('', -1), ('t', 1)) AS side(cs, n)
        WHERE j.kind <> 'NCMEC' AND j.queue_id IS DISTINCT FROM insights_ncmec_queue()
          AND NOT EXISTS (SELECT 1 FROM review_report o WHERE o.job_id = r.job_id AND o.csam
                          AND o.id NOT IN (SELECT id FROM new_rows));
        """,
    ),
)

# The histogram bucket of a duration in seconds (coop.insights.histogram is the same rule).
TIME_BUCKET_FUNCTION = """
CREATE OR REPLACE FUNCTION insights_time_bucket(seconds double precision) RETURNS integer
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT CASE WHEN seconds IS NULL OR seconds < 1 THEN 0
              ELSE least(floor(4 * log(2, seconds::numeric))::integer + 1, 160) END
$$;
"""


# (The job's creation time is read by a scalar subquery, one primary-key lookup per decision:
# a transition table has no statistics, and a join could be planned as a scan of review_job.)


# The child-safety rule of coop.review.visibility for a decision or a skip, at the time it is
# taken: on an NCMEC job or in the NCMEC queue (its queue then, or the job's), an NCMEC decision,
# or on a job with a csam report. 't' or ''.
CHILD_SAFETY_FUNCTIONS = """
CREATE OR REPLACE FUNCTION insights_ncmec_queue() RETURNS text LANGUAGE sql STABLE AS $$
  SELECT data #>> '{ncmec,defaultQueue}' FROM catalog_orgsettings LIMIT 1
$$;
CREATE OR REPLACE FUNCTION insights_decision_cs(
    job uuid, queue text, job_kind text, types varchar[], actions varchar[]
) RETURNS text LANGUAGE sql STABLE AS $$
  SELECT CASE WHEN job_kind = 'NCMEC' OR 'NCMEC' = ANY(types) OR 'coop.ncmec' = ANY(actions)
                   OR queue = insights_ncmec_queue()
                   OR EXISTS (SELECT 1 FROM review_job j WHERE j.id = job
                              AND (j.kind = 'NCMEC' OR j.queue_id = insights_ncmec_queue()))
                   OR EXISTS (SELECT 1 FROM review_report r WHERE r.job_id = job AND r.csam)
              THEN 't' ELSE '' END
$$;
"""


def install_sql() -> list[str]:
    """The statements (idempotent) that create or replace every trigger."""
    statements = [TIME_BUCKET_FUNCTION, CHILD_SAFETY_FUNCTIONS]
    for name, table, body in TRIGGERS:
        statements += [
            f"CREATE OR REPLACE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$\n"
            f"BEGIN\n{body}\nRETURN NULL;\nEND\n$$;",
            f"DROP TRIGGER IF EXISTS {name} ON {table};",
            f"CREATE TRIGGER {name} AFTER INSERT ON {table} REFERENCING NEW TABLE AS new_rows "
            f"FOR EACH STATEMENT EXECUTE FUNCTION {name}();",
        ]
    return statements


def uninstall_sql() -> list[str]:
    statements = []
    for name, table, _ in TRIGGERS:
        statements += [
            f"DROP TRIGGER IF EXISTS {name} ON {table};",
            f"DROP FUNCTION IF EXISTS {name}();",
        ]
    return [
        *statements,
        "DROP FUNCTION IF EXISTS insights_time_bucket(double precision);",
        "DROP FUNCTION IF EXISTS insights_decision_cs(uuid, text, text, varchar[], varchar[]);",
        "DROP FUNCTION IF EXISTS insights_ncmec_queue();",
    ]


def install(schema_editor) -> None:
    """(Re)create the triggers; usable from a migration's RunPython."""
    for statement in install_sql():
        schema_editor.execute(statement)
