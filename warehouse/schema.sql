-- LCD policy warehouse (DuckDB).
--
-- The single source of the warehouse schema: `pipeline.warehouse.connect()` executes this file on
-- every connection, so every statement is idempotent (`if not exists`). Column names required by
-- DESIGN.md are the analyst contract; the other columns are documented extras.
--
-- Conventions:
--   * keys are integers drawn from one sequence per table;
--   * timestamps are UTC without a time zone;
--   * `text`, `char_start`, `char_end` of every fact point into `version_texts.text` of its version;
--   * accepted values are enforced here with CHECK constraints, not only in Python, so a bad
--     extraction fails the whole load instead of landing in the warehouse.

create sequence if not exists lcd_versions_seq;
create sequence if not exists indications_seq;
create sequence if not exists doses_seq;
create sequence if not exists thresholds_seq;
create sequence if not exists criteria_seq;
create sequence if not exists policy_changes_seq;
create sequence if not exists ingest_errors_seq;


-- One row per ingested document version. The same bytes are one version (unique source_sha256);
-- the same (lcd_id, version) with different bytes is kept as a second row (a re-issued file) and is
-- ordered after the first one by ingested_at.
create table if not exists lcd_versions (
    version_key             integer primary key default nextval('lcd_versions_seq'),
    lcd_id                  varchar not null,
    version                 varchar not null,
    title                   varchar,
    contractor              varchar,
    effective_date          date,          -- revision effective date, null if the document does not say
    source_path             varchar not null,
    source_sha256           varchar not null unique,
    source_format           varchar not null,
    ingested_at             timestamp not null,
    -- extras
    version_order           integer,       -- 1 = oldest version of this lcd_id; recomputed on every load
    document_type           varchar,       -- 'LCD', 'NCD', 'Article' when the document says
    original_effective_date date,
    extractor_version       varchar
);


-- The normalised text each version's offsets point into.
create table if not exists version_texts (
    version_key integer primary key references lcd_versions (version_key),
    text        varchar not null
);


-- The titled regions of a version's text: `text[char_start:char_end]`, heading line included.
create table if not exists version_sections (
    version_key integer not null references lcd_versions (version_key),
    name        varchar not null,      -- canonical name, e.g. 'coverage_indications'
    heading     varchar not null,      -- as written ('' for a leading untitled region)
    kind        varchar not null check (kind in ('policy', 'evidence', 'other')),
    char_start  integer not null,
    char_end    integer not null,
    check (char_start <= char_end)
);


-- Conditions or clinical situations a version names as covered or not covered.
create table if not exists indications (
    indication_key  integer primary key default nextval('indications_seq'),
    version_key     integer not null references lcd_versions (version_key),
    name            varchar not null,  -- as written
    normalized_name varchar not null,  -- aligns the same indication across versions and LCDs
    coverage        varchar not null check (coverage in ('covered', 'not_covered', 'unclear')),
    icd10_codes     varchar[] not null,
    section         varchar not null check (section in ('policy', 'evidence', 'other')),
    sentence        varchar,
    char_start      integer,
    char_end        integer,
    confidence      double check (confidence between 0 and 1),
    -- extras
    aliases         varchar[] not null -- other surface forms merged into this indication
);


-- Doses of a drug; indication_key is null for a policy-wide dose.
create table if not exists doses (
    dose_key       integer primary key default nextval('doses_seq'),
    version_key    integer not null references lcd_versions (version_key),
    indication_key integer references indications (indication_key),
    drug           varchar,
    amount_low     double not null,
    amount_high    double not null,
    unit           varchar not null,   -- normalised: 'g/kg', 'mg/kg', 'units', 'units/kg', 'mg', 'mcg', ...
    frequency      varchar,
    phase          varchar check (phase in ('induction', 'maintenance', 'prophylaxis')),
    section        varchar not null check (section in ('policy', 'evidence', 'other')),
    text           varchar not null,
    char_start     integer,
    char_end       integer,
    -- extras
    sentence       varchar,
    check (amount_low <= amount_high)
);


-- Numeric limits a patient or service must meet (inclusion) or that rule coverage out (exclusion).
create table if not exists thresholds (
    threshold_key  integer primary key default nextval('thresholds_seq'),
    version_key    integer not null references lcd_versions (version_key),
    indication_key integer references indications (indication_key),
    measure        varchar not null,
    comparator     varchar not null check (comparator in ('<', '<=', '>', '>=', '=', 'between')),
    value          double not null,
    value_high     double,             -- upper bound, only for comparator 'between'
    unit           varchar,            -- normalised, e.g. 'mg/dL'
    polarity       varchar not null check (polarity in ('inclusion', 'exclusion')),
    section        varchar not null check (section in ('policy', 'evidence', 'other')),
    text           varchar not null,
    char_start     integer,
    char_end       integer,
    -- extras
    sentence       varchar,
    check ((comparator = 'between') = (value_high is not null))
);


-- Non-numeric conditions attached to an indication (list items under "the following criteria").
create table if not exists criteria (
    criterion_key  integer primary key default nextval('criteria_seq'),
    version_key    integer not null references lcd_versions (version_key),
    indication_key integer references indications (indication_key),
    kind           varchar not null,   -- 'requirement' | 'exclusion' | 'documentation'
    text           varchar not null,
    -- extras
    section        varchar check (section in ('policy', 'evidence', 'other')),
    char_start     integer,
    char_end       integer
);


-- What changed in policy between two versions of one LCD (consecutive versions, as written by the
-- ingestion flow). Only policy-section facts are compared: evidence sections quote literature.
create table if not exists policy_changes (
    change_key       integer primary key default nextval('policy_changes_seq'),
    lcd_id           varchar not null,
    from_version_key integer references lcd_versions (version_key),
    to_version_key   integer not null references lcd_versions (version_key),
    change_type      varchar not null check (change_type in (
        'indication_added',
        'indication_removed',
        'coverage_changed',
        'dose_added',
        'dose_removed',
        'dose_changed',
        'threshold_added',
        'threshold_removed',
        'threshold_changed',
        'criterion_added',
        'criterion_removed',
        'text_changed'
    )),
    subject          varchar not null,  -- indication name, '<drug> dose' or the threshold's measure
    before           varchar,           -- readable value before (null when added)
    after            varchar,           -- readable value after (null when removed)
    detected_at      timestamp not null,
    -- extras
    before_sentence  varchar,
    after_sentence   varchar,
    indication       varchar,           -- normalized_name of the indication concerned, null if policy-wide
    section          varchar,           -- name of the document section the fact sits in
    parent_change_key integer           -- the indication_added/_removed change this fact change belongs to
);


-- Which consecutive version pairs have been diffed (policy_changes has no row for a pair whose diff
-- found nothing). Written in the same transaction as the pair's policy_changes, so a run killed
-- between loading a version and diffing it leaves a pair without a row here, and the next
-- `lcd ingest` / `lcd sync` diffs it (pipeline.diff.store.pending_pairs).
create table if not exists diff_state (
    lcd_id           varchar not null,
    from_version_key integer not null,
    to_version_key   integer not null,
    diffed_at        timestamp not null  -- one row per pair (no key: deleted and re-inserted per diff)
);


-- Documents that could not be ingested; the operator's to-do list.
create table if not exists ingest_errors (
    error_key     integer primary key default nextval('ingest_errors_seq'),
    source_path   varchar not null,
    error_type    varchar not null,
    message       varchar not null,
    "at"          timestamp not null, -- quoted: AT is a keyword in DuckDB 2 (query it as "at" or e.at)
    -- extras
    source_sha256 varchar
);


-- CMS Coverage API sync (`lcd sync`): one row per LCD version the API's report listed and the sync
-- tried to fetch. A version is fetched again by every sync until its status is 'loaded'.
create table if not exists sync_state (
    lcd_id         varchar not null,      -- 'L34648'
    version        varchar not null,      -- '31'
    status         varchar not null check (status in ('downloaded', 'loaded', 'failed')),
    source_url     varchar not null,      -- the /v1/data/lcd call
    cache_path     varchar,               -- the saved record, <cache>/<LCD_ID>/<VERSION>.json
    sha256         varchar,               -- of the saved record; = lcd_versions.source_sha256 once loaded
    version_key    integer,               -- the lcd_versions row, once loaded
    title          varchar,               -- as the report listed it
    contractor     varchar,
    updated_on     date,
    effective_date date,
    attempts       integer not null,      -- syncs that fetched (or tried to fetch) this version
    error_type     varchar,               -- last failure: 'api_<kind>', 'no_such_version', 'source_unavailable', or a reader's type
    error          varchar,               -- its one-line reason; null once loaded
    first_seen_at  timestamp not null,
    fetched_at     timestamp,             -- last successful download
    updated_at     timestamp not null,
    primary key (lcd_id, version)
);


-- Why each version was revised: the revision history and reasons for change a source gives for it
-- (`lcd sync`: /v1/data/lcd/revision-history and /reason-change; an MCD bundle:
-- lcd_x_revision_history.csv and lcd_x_reason_change.csv). The history is a change log: the rows of
-- one version describe that revision and earlier ones, so the version's reasons for change sit on its
-- latest row (by rev_hist_date, then rev_hist_num) and older rows carry []; a version with reasons but
-- no history gets one row with null history fields. Rows of a version are replaced when it is fetched again.
create table if not exists lcd_revision_history (
    lcd_id             varchar not null,  -- 'L34648'
    version            varchar not null,  -- the version the rows were served for
    rev_hist_date      date,
    rev_hist_num       varchar,           -- 'R16'
    explanation        varchar,           -- plain text ('R16 Revision Effective: ... Revision Explanation: ...')
    reasons_for_change varchar[],         -- e.g. ['Revisions Due to Code Removal']
    source             varchar,           -- 'coverage_api', 'mcd_bundle'
    loaded_at          timestamp          -- UTC
);
