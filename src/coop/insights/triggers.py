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
        SELECT 'rule_action', date_trunc('hour', e.created_at, 'UTC'), r.rule ->> 'id', '', '',
               count(*), 0, 0
        FROM new_rows e, jsonb_array_elements(
                 CASE WHEN jsonb_typeof(e.rules) = 'array' THEN e.rules ELSE '[]' END) AS r(rule)
        WHERE e.refused_reason = '' AND r.rule ->> 'id' IS NOT NULL
        GROUP BY 2, 3;
        """,
    ),
    (
        "insights_jobs",
        "review_job",
        """
        INSERT INTO insights_delta (kind, hour, k1, k2, k3, n1, n2, n3)
        SELECT 'job', date_trunc('hour', created_at, 'UTC'), queue_id, source, '', count(*), 0, 0
        FROM new_rows GROUP BY 2, 3, 4;
        """,
    ),
    (
        "insights_decisions",
        "review_decision",
        """
        INSERT INTO insights_delta (kind, hour, k1, k2, k3, n1, n2, n3)
        SELECT 'decision', date_trunc('hour', created_at, 'UTC'), queue_id,
               coalesce(reviewer_id::text, ''), '', count(*), 0, 0
        FROM new_rows WHERE job_id IS NOT NULL GROUP BY 2, 3, 4;
        INSERT INTO insights_delta (kind, hour, k1, k2, k3, n1, n2, n3)
        SELECT 'decision_policy', date_trunc('hour', d.created_at, 'UTC'), d.queue_id,
               p.policy_id, '', count(*), 0, 0
        FROM new_rows d,
             unnest(CASE WHEN cardinality(d.policy_ids) > 0 THEN d.policy_ids
                         ELSE ARRAY['']::varchar[] END) AS p(policy_id)
        WHERE d.job_id IS NOT NULL
        GROUP BY 2, 3, 4;
        INSERT INTO insights_delta (kind, hour, k1, k2, k3, n1, n2, n3)
        SELECT 'decision_time', date_trunc('hour', d.created_at, 'UTC'), d.queue_id,
               insights_time_bucket(extract(epoch FROM d.created_at - (
                   SELECT j.created_at FROM review_job j WHERE j.id = d.job_id)))::text, '',
               count(*), 0, 0
        FROM new_rows d WHERE d.job_id IS NOT NULL
        GROUP BY 2, 3, 4;
        """,
    ),
    (
        "insights_skips",
        "review_skip",
        """
        INSERT INTO insights_delta (kind, hour, k1, k2, k3, n1, n2, n3)
        SELECT 'skip', date_trunc('hour', created_at, 'UTC'), queue_id, '', '', count(*), 0, 0
        FROM new_rows GROUP BY 2, 3;
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


def install_sql() -> list[str]:
    """The statements (idempotent) that create or replace every trigger."""
    statements = [TIME_BUCKET_FUNCTION]
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
    return [*statements, "DROP FUNCTION IF EXISTS insights_time_bucket(double precision);"]


def install(schema_editor) -> None:
    """(Re)create the triggers; usable from a migration's RunPython."""
    for statement in install_sql():
        schema_editor.execute(statement)
