//! `dsms import`: brings the history of the system dsms replaces in from its CSV exports of
//! incidents, of service requests, and of the notes and work logs of each, through a column
//! mapping the operator writes (`deploy/import-mapping.example.toml`).
//!
//! Rows are converted and checked one by one; good rows are written in batches, each batch one
//! transaction (a batch that fails is retried row by row, so one bad row costs only itself).
//! Every old reference is kept as an alias, so a re-run finds what it imported before: an
//! unchanged row is skipped, a changed one rewrites its record, nothing is ever duplicated.
//! Rows that cannot be imported are written, with the reason, to a rejects CSV beside the
//! report. `--dry-run` converts and checks everything and writes nothing to the database.

pub mod directory;
mod mapping;
pub mod rows;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt::Write as _;
use std::fs::File;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use dsms_core::Clock;
use dsms_incident::{IncidentError, Incidents};
use dsms_service_request::{Imported as RequestImported, RequestError, ServiceRequests};
use dsms_store::{Db, DbConnection, StoreError};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

pub use mapping::Mapping;
use rows::{Columns, Context, Reject};

/// What to import, and how.
#[derive(Debug, Clone)]
pub struct ImportArgs {
    /// The column mapping.
    pub mapping: PathBuf,
    /// The incidents export.
    pub incidents: Option<PathBuf>,
    /// The incidents' notes and work logs export.
    pub notes: Option<PathBuf>,
    /// The service requests export.
    pub requests: Option<PathBuf>,
    /// The service requests' notes and work logs export.
    pub request_notes: Option<PathBuf>,
    /// Where the rejects CSVs go.
    pub rejects_dir: PathBuf,
    /// Check everything, write nothing.
    pub dry_run: bool,
    /// Rows per transaction.
    pub batch_size: usize,
    /// No progress bar.
    pub quiet: bool,
}

/// What happened to the rows of one export.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Counts {
    /// Data rows read.
    pub read: u64,
    /// New records (in a dry run: rows that would be imported).
    pub imported: u64,
    /// Records rewritten because their row changed.
    pub updated: u64,
    /// Rows imported before and unchanged since.
    pub unchanged: u64,
    /// Rows not imported.
    pub rejected: u64,
    /// Rejected rows by kind of reason.
    pub reasons: BTreeMap<String, u64>,
}

/// The outcome of an import.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    /// Nothing was written.
    pub dry_run: bool,
    /// The incidents export, when given.
    pub incidents: Option<Counts>,
    /// The incidents' notes export, when given.
    pub notes: Option<Counts>,
    /// The service requests export, when given.
    pub requests: Option<Counts>,
    /// The service requests' notes export, when given.
    pub request_notes: Option<Counts>,
    /// The rejects files written.
    pub rejects: Vec<PathBuf>,
}

impl std::fmt::Display for Report {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut out = String::new();
        if self.dry_run {
            let _ = writeln!(out, "dry run: nothing was written");
        }
        for (name, counts) in [
            ("incidents", &self.incidents),
            ("notes", &self.notes),
            ("requests", &self.requests),
            ("request notes", &self.request_notes),
        ] {
            let Some(c) = counts else { continue };
            let _ = writeln!(
                out,
                "{name}: {} read, {} {}, {} updated, {} unchanged, {} rejected",
                c.read,
                c.imported,
                if self.dry_run { "valid" } else { "imported" },
                c.updated,
                c.unchanged,
                c.rejected
            );
            for (reason, n) in &c.reasons {
                let _ = writeln!(out, "  rejected, {reason}: {n}");
            }
        }
        for path in &self.rejects {
            let _ = writeln!(out, "rejects: {}", path.display());
        }
        f.write_str(&out)
    }
}

/// One converted row waiting for its batch, with where it came from.
struct Pending<T> {
    line: u64,
    record: csv::StringRecord,
    row: T,
}

/// The rows of one export that were not imported, written as they come.
struct Rejects {
    writer: csv::Writer<File>,
    path: PathBuf,
}

impl Rejects {
    fn create(dir: &Path, name: &str, headers: &csv::StringRecord) -> anyhow::Result<Self> {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
        let path = dir.join(name);
        let mut writer = csv::Writer::from_path(&path)
            .with_context(|| format!("cannot write {}", path.display()))?;
        let mut header = headers.clone();
        header.push_field("line");
        header.push_field("reason");
        writer.write_record(&header)?;
        Ok(Self { writer, path })
    }

    fn write(
        &mut self,
        counts: &mut Counts,
        line: u64,
        record: &csv::StringRecord,
        reject: &Reject,
    ) -> anyhow::Result<()> {
        counts.rejected += 1;
        *counts.reasons.entry(reject.kind.to_owned()).or_default() += 1;
        let mut row = record.clone();
        row.push_field(&line.to_string());
        row.push_field(&reject.to_string());
        self.writer.write_record(&row)?;
        Ok(())
    }
}

/// What writing one row did, whichever kind of record it was.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Done {
    Created,
    Updated,
    Unchanged,
}

impl From<dsms_incident::Imported> for Done {
    fn from(outcome: dsms_incident::Imported) -> Self {
        match outcome {
            dsms_incident::Imported::Created(_) => Self::Created,
            dsms_incident::Imported::Updated(_) => Self::Updated,
            dsms_incident::Imported::Unchanged(_) => Self::Unchanged,
        }
    }
}

impl From<RequestImported> for Done {
    fn from(outcome: RequestImported) -> Self {
        match outcome {
            RequestImported::Created(_) => Self::Created,
            RequestImported::Updated(_) => Self::Updated,
            RequestImported::Unchanged(_) => Self::Unchanged,
        }
    }
}

/// Errors that may say the database itself is out of reach (the import stops) rather than
/// refusing one row (the row is rejected).
trait Unreachable: std::fmt::Display + From<StoreError> {
    fn unreachable(&self) -> bool;
}

impl Unreachable for IncidentError {
    fn unreachable(&self) -> bool {
        matches!(self, Self::Store(StoreError::Unavailable(_)))
    }
}

impl Unreachable for RequestError {
    fn unreachable(&self) -> bool {
        matches!(self, Self::Store(StoreError::Unavailable(_)))
    }
}

fn progress(path: &Path, quiet: bool, what: &str) -> ProgressBar {
    let len = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
    let bar = if quiet {
        ProgressBar::hidden()
    } else {
        ProgressBar::with_draw_target(Some(len), ProgressDrawTarget::stderr())
    };
    if let Ok(style) = ProgressStyle::with_template(
        "{msg:13} [{bar:40}] {percent:>3}% {binary_bytes}/{binary_total_bytes} eta {eta}",
    ) {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.set_message(what.to_owned());
    bar
}

/// One export file: where it is, its name in the report and messages, its rejects file, and
/// the reject kind of a second row with the same key.
struct Export<'a> {
    path: &'a Path,
    what: &'static str,
    rejects: &'static str,
    duplicate: &'static str,
}

/// The reader of an export: `delimiter`-separated, with a header row, rows of any length (a
/// short row's missing columns read as empty).
pub fn csv_reader<R: std::io::Read>(input: R, delimiter: u8) -> csv::Reader<R> {
    csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .flexible(true)
        .from_reader(input)
}

/// Reads `export` row by row: converts each row, rejects a second row with the same `key`
/// (rather than letting it silently overwrite the first), and hands full batches to `flush`,
/// which writes (or in a dry run checks) and empties them. Returns the counts, the rejects file
/// and every key accepted.
#[allow(clippy::too_many_arguments)]
fn read_export<T>(
    args: &ImportArgs,
    delimiter: u8,
    export: &Export<'_>,
    named: Vec<&String>,
    convert: impl Fn(&Columns, &csv::StringRecord) -> Result<T, Reject>,
    key: impl Fn(&T) -> &str,
    mut flush: impl FnMut(&mut Vec<Pending<T>>, &mut Counts, &mut Rejects) -> anyhow::Result<()>,
) -> anyhow::Result<(Counts, PathBuf, BTreeSet<String>)> {
    let file = File::open(export.path)
        .with_context(|| format!("cannot read {}", export.path.display()))?;
    let mut input = csv_reader(file, delimiter);
    let headers = input.headers()?.clone();
    let columns = Columns::new(&headers, named, export.what)?;
    let mut rejects = Rejects::create(&args.rejects_dir, export.rejects, &headers)?;
    let bar = progress(export.path, args.quiet, export.what);
    let batch_size = args.batch_size.max(1);
    let mut counts = Counts::default();
    let mut seen: HashMap<String, u64> = HashMap::new();
    let mut batch: Vec<Pending<T>> = Vec::with_capacity(batch_size);
    let mut record = csv::StringRecord::new();
    while input.read_record(&mut record)? {
        counts.read += 1;
        let line = record.position().map_or(counts.read + 1, |p| p.line());
        bar.set_position(record.position().map_or(0, |p| p.byte()));
        match convert(&columns, &record) {
            Err(reject) => rejects.write(&mut counts, line, &record, &reject)?,
            Ok(row) => {
                if let Some(first) = seen.get(key(&row)) {
                    let reject = Reject::new(export.duplicate, format!("first on line {first}"));
                    rejects.write(&mut counts, line, &record, &reject)?;
                    continue;
                }
                seen.insert(key(&row).to_owned(), line);
                batch.push(Pending {
                    line,
                    record: record.clone(),
                    row,
                });
                if batch.len() >= batch_size {
                    flush(&mut batch, &mut counts, &mut rejects)?;
                }
            }
        }
    }
    flush(&mut batch, &mut counts, &mut rejects)?;
    bar.finish_and_clear();
    rejects.writer.flush()?;
    Ok((counts, rejects.path, seen.into_keys().collect()))
}

/// A dry run's batch of incidents or requests: every converted row would be imported.
fn count_valid<T>(batch: &mut Vec<Pending<T>>, counts: &mut Counts) -> anyhow::Result<()> {
    counts.imported += batch.len() as u64;
    batch.clear();
    Ok(())
}

/// Writes a batch in one transaction. When the database refuses it, each row is written alone,
/// so only the rows it refuses are rejected. `write` says, per row, what it did or why the row
/// cannot be imported.
fn write_batch<T, E: Unreachable>(
    db: &Db,
    batch: &mut Vec<Pending<T>>,
    counts: &mut Counts,
    rejects: &mut Rejects,
    write: impl Fn(&mut DbConnection, &[Pending<T>]) -> Result<Vec<Result<Done, Reject>>, E>,
) -> anyhow::Result<()> {
    if batch.is_empty() {
        return Ok(());
    }
    let outcomes = match db.write_blocking(|conn| write(conn, batch)) {
        Ok(outcomes) => outcomes,
        Err(e) if e.unreachable() => anyhow::bail!("the database is unavailable: {e}"),
        Err(_) => batch
            .iter()
            .map(|p| {
                let refused = |e: String| Reject::new("refused by the database", e);
                db.write_blocking(|conn| write(conn, std::slice::from_ref(p)))
                    .map_err(|e| refused(e.to_string()))
                    .and_then(|o| {
                        o.into_iter()
                            .next()
                            .unwrap_or_else(|| Err(refused(String::new())))
                    })
            })
            .collect(),
    };
    for (p, outcome) in batch.iter().zip(outcomes) {
        match outcome {
            Ok(Done::Created) => counts.imported += 1,
            Ok(Done::Updated) => counts.updated += 1,
            Ok(Done::Unchanged) => counts.unchanged += 1,
            Err(reject) => rejects.write(counts, p.line, &p.record, &reject)?,
        }
    }
    batch.clear();
    Ok(())
}

/// A dry run's batch of notes: those whose incident or request is in this run's export
/// (`valid`) or was imported before would be imported; the others are rejected as `unknown`.
fn check_parents<E: Unreachable>(
    db: &Db,
    batch: &mut Vec<Pending<rows::NoteRow>>,
    counts: &mut Counts,
    rejects: &mut Rejects,
    valid: &BTreeSet<String>,
    unknown: &'static str,
    exists: impl Fn(&mut DbConnection, &str) -> Result<bool, E>,
) -> anyhow::Result<()> {
    let known = db
        .read_blocking(|conn| {
            batch
                .iter()
                .map(|p| {
                    Ok(valid.contains(&p.row.parent_alias) || exists(conn, &p.row.parent_alias)?)
                })
                .collect::<Result<Vec<bool>, E>>()
        })
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    for (p, known) in batch.iter().zip(known) {
        if known {
            counts.imported += 1;
        } else {
            let reject = Reject::new(unknown, p.row.parent_alias.clone());
            rejects.write(counts, p.line, &p.record, &reject)?;
        }
    }
    batch.clear();
    Ok(())
}

/// Runs an import with `incidents` and `requests` (the services that record them) against `db`.
pub fn run(
    db: &Db,
    incidents: &Incidents,
    requests: &ServiceRequests,
    clock: &dyn Clock,
    args: &ImportArgs,
) -> anyhow::Result<Report> {
    let mapping = Mapping::load(&args.mapping)?;
    if args.incidents.is_none()
        && args.notes.is_none()
        && args.requests.is_none()
        && args.request_notes.is_none()
    {
        anyhow::bail!(
            "nothing to import: give --incidents, --notes, --requests or --request-notes"
        );
    }
    let delimiter = mapping.delimiter_byte()?;
    let directory = db
        .read_blocking(directory::Directory::load)
        .context("cannot read organisations and people")?;
    let items = match args.requests {
        Some(_) => requests
            .historic_catalogue()
            .context("cannot read the service catalogue")?,
        None => Vec::new(),
    };
    let cx = Context {
        mapping: &mapping,
        directory: &directory,
        policy: incidents.policy(),
        items: &items,
        zone: mapping.zone()?,
        now: clock.now(),
    };
    let source = mapping.source.as_str();
    let actor = crate::admin::cli_actor();
    let mut report = Report {
        dry_run: args.dry_run,
        ..Report::default()
    };
    let mut incident_aliases = BTreeSet::new();
    if let Some(path) = &args.incidents {
        let m = mapping
            .incidents
            .as_ref()
            .context("--incidents needs a [incidents] section in the mapping")?;
        let export = Export {
            path,
            what: "incidents",
            rejects: "incidents-rejects.csv",
            duplicate: "duplicate reference",
        };
        let (counts, rejects, aliases) = read_export(
            args,
            delimiter,
            &export,
            m.columns.named(),
            |columns, record| rows::incident(&cx, m, columns, record),
            |row| row.alias.as_str(),
            |batch, counts, rejects| {
                if args.dry_run {
                    return count_valid(batch, counts);
                }
                write_batch(db, batch, counts, rejects, |conn, rows| {
                    rows.iter()
                        .map(|p| {
                            let r = &p.row;
                            incidents
                                .import_historic(
                                    conn,
                                    cx.now,
                                    &actor,
                                    source,
                                    &r.alias,
                                    &r.digest,
                                    &r.incident,
                                )
                                .map(|o| Ok(o.into()))
                        })
                        .collect::<Result<Vec<_>, IncidentError>>()
                })
            },
        )?;
        report.incidents = Some(counts);
        report.rejects.push(rejects);
        incident_aliases = aliases;
    }

    if let Some(path) = &args.notes {
        let m = mapping
            .notes
            .as_ref()
            .context("--notes needs a [notes] section in the mapping")?;
        let export = Export {
            path,
            what: "notes",
            rejects: "notes-rejects.csv",
            duplicate: "duplicate note id",
        };
        let (counts, rejects, _) = read_export(
            args,
            delimiter,
            &export,
            m.columns.named(),
            |columns, record| rows::note(&cx, m, "missing incident reference", columns, record),
            |row| row.external_id.as_str(),
            |batch, counts, rejects| {
                if args.dry_run {
                    return check_parents(
                        db,
                        batch,
                        counts,
                        rejects,
                        &incident_aliases,
                        "unknown incident",
                        |conn, alias| {
                            Ok::<_, IncidentError>(incidents.imported_id(conn, alias)?.is_some())
                        },
                    );
                }
                write_batch(db, batch, counts, rejects, |conn, rows| {
                    let mut touched = BTreeSet::new();
                    let mut outcomes = Vec::with_capacity(rows.len());
                    for p in rows {
                        let r = &p.row;
                        let Some(incident_id) = incidents.imported_id(conn, &r.parent_alias)?
                        else {
                            outcomes
                                .push(Err(Reject::new("unknown incident", r.parent_alias.clone())));
                            continue;
                        };
                        let outcome = incidents.import_note(
                            conn,
                            source,
                            &r.external_id,
                            &r.digest,
                            incident_id,
                            &r.author,
                            &r.body,
                            r.internal,
                            r.written_at,
                        )?;
                        if !matches!(outcome, dsms_incident::Imported::Unchanged(_)) {
                            touched.insert(incident_id);
                        }
                        outcomes.push(Ok(outcome.into()));
                    }
                    // The search index holds public comments: each incident whose notes changed
                    // is indexed again once, at the end of its transaction.
                    for id in touched {
                        incidents.reindex_imported(conn, id)?;
                    }
                    Ok::<_, IncidentError>(outcomes)
                })
            },
        )?;
        report.notes = Some(counts);
        report.rejects.push(rejects);
    }

    let mut request_aliases = BTreeSet::new();
    if let Some(path) = &args.requests {
        let m = mapping
            .requests
            .as_ref()
            .context("--requests needs a [requests] section in the mapping")?;
        let export = Export {
            path,
            what: "requests",
            rejects: "requests-rejects.csv",
            duplicate: "duplicate reference",
        };
        let (counts, rejects, aliases) = read_export(
            args,
            delimiter,
            &export,
            m.named(),
            |columns, record| rows::request(&cx, m, columns, record),
            |row| row.alias.as_str(),
            |batch, counts, rejects| {
                if args.dry_run {
                    return count_valid(batch, counts);
                }
                write_batch(db, batch, counts, rejects, |conn, rows| {
                    rows.iter()
                        .map(|p| {
                            let r = &p.row;
                            requests
                                .import_historic(
                                    conn, cx.now, &actor, source, &r.alias, &r.digest, &r.request,
                                )
                                .map(|o| Ok(o.into()))
                        })
                        .collect::<Result<Vec<_>, RequestError>>()
                })
            },
        )?;
        report.requests = Some(counts);
        report.rejects.push(rejects);
        request_aliases = aliases;
    }

    if let Some(path) = &args.request_notes {
        let m = mapping
            .request_notes
            .as_ref()
            .context("--request-notes needs a [request_notes] section in the mapping")?;
        let export = Export {
            path,
            what: "request notes",
            rejects: "request-notes-rejects.csv",
            duplicate: "duplicate note id",
        };
        let (counts, rejects, _) = read_export(
            args,
            delimiter,
            &export,
            m.columns.named(),
            |columns, record| rows::note(&cx, m, "missing request reference", columns, record),
            |row| row.external_id.as_str(),
            |batch, counts, rejects| {
                if args.dry_run {
                    return check_parents(
                        db,
                        batch,
                        counts,
                        rejects,
                        &request_aliases,
                        "unknown request",
                        |conn, alias| {
                            Ok::<_, RequestError>(requests.imported_id(conn, alias)?.is_some())
                        },
                    );
                }
                write_batch(db, batch, counts, rejects, |conn, rows| {
                    rows.iter()
                        .map(|p| {
                            let r = &p.row;
                            let Some(request_id) = requests.imported_id(conn, &r.parent_alias)?
                            else {
                                return Ok(Err(Reject::new(
                                    "unknown request",
                                    r.parent_alias.clone(),
                                )));
                            };
                            requests
                                .import_note(
                                    conn,
                                    source,
                                    &r.external_id,
                                    &r.digest,
                                    request_id,
                                    &rows::party(r.author.clone()),
                                    &r.body,
                                    r.internal,
                                    r.written_at,
                                )
                                .map(|o| Ok(o.into()))
                        })
                        .collect::<Result<Vec<_>, RequestError>>()
                })
            },
        )?;
        report.request_notes = Some(counts);
        report.rejects.push(rejects);
    }
    Ok(report)
}
