//! `dsms import`: brings the history of the system dsms replaces in from its CSV exports of
//! incidents and of their notes and work logs, through a column mapping the operator writes
//! (`deploy/import-mapping.example.toml`).
//!
//! Rows are converted and checked one by one; good rows are written in batches, each batch one
//! transaction (a batch that fails is retried row by row, so one bad row costs only itself).
//! Every old reference is kept as an alias, so a re-run finds what it imported before: an
//! unchanged row is skipped, a changed one rewrites its incident, nothing is ever duplicated.
//! Rows that cannot be imported are written, with the reason, to a rejects CSV beside the
//! report. `--dry-run` converts and checks everything and writes nothing to the database.

mod directory;
mod mapping;
mod rows;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt::Write as _;
use std::fs::File;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use dsms_core::Clock;
use dsms_incident::{Imported, Incidents};
use dsms_store::Db;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

pub use mapping::Mapping;
use rows::{Columns, Context, Reject};

/// What to import, and how.
#[derive(Debug, Clone)]
pub struct ImportArgs {
    /// The column mapping.
    pub mapping: PathBuf,
    /// The incidents export.
    pub incidents: PathBuf,
    /// The notes and work logs export.
    pub notes: Option<PathBuf>,
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
    /// The incidents export.
    pub incidents: Counts,
    /// The notes export, when given.
    pub notes: Option<Counts>,
    /// The rejects files written.
    pub rejects: Vec<PathBuf>,
}

impl std::fmt::Display for Report {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut out = String::new();
        let section = |out: &mut String, name: &str, c: &Counts| {
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
        };
        if self.dry_run {
            let _ = writeln!(out, "dry run: nothing was written");
        }
        section(&mut out, "incidents", &self.incidents);
        if let Some(notes) = &self.notes {
            section(&mut out, "notes", notes);
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

fn count(counts: &mut Counts, outcome: Imported) {
    match outcome {
        Imported::Created(_) => counts.imported += 1,
        Imported::Updated(_) => counts.updated += 1,
        Imported::Unchanged(_) => counts.unchanged += 1,
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
        "{msg:10} [{bar:40}] {percent:>3}% {binary_bytes}/{binary_total_bytes} eta {eta}",
    ) {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.set_message(what.to_owned());
    bar
}

fn reader(path: &Path, delimiter: u8) -> anyhow::Result<csv::Reader<File>> {
    csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .flexible(true)
        .from_path(path)
        .with_context(|| format!("cannot read {}", path.display()))
}

/// Runs an import with `incidents` (the service that records them) against `db`.
pub fn run(
    db: &Db,
    incidents: &Incidents,
    clock: &dyn Clock,
    args: &ImportArgs,
) -> anyhow::Result<Report> {
    let mapping = Mapping::load(&args.mapping)?;
    let delimiter = mapping.delimiter_byte()?;
    let directory = db
        .read_blocking(directory::Directory::load)
        .context("cannot read organisations and people")?;
    let cx = Context {
        mapping: &mapping,
        directory: &directory,
        policy: incidents.policy(),
        zone: mapping.zone()?,
        now: clock.now(),
    };
    let batch_size = args.batch_size.max(1);
    let mut report = Report {
        dry_run: args.dry_run,
        ..Report::default()
    };

    let mut input = reader(&args.incidents, delimiter)?;
    let headers = input.headers()?.clone();
    let c = &mapping.incidents.columns;
    let columns = Columns::new(
        &headers,
        [
            &c.reference,
            &c.title,
            &c.description,
            &c.status,
            &c.priority,
            &c.category,
            &c.organisation,
            &c.raised_by_email,
            &c.created_at,
        ]
        .into_iter()
        .chain(
            [
                &c.raised_by_name,
                &c.updated_at,
                &c.responded_at,
                &c.resolved_at,
                &c.closed_at,
                &c.impact,
                &c.urgency,
                &c.subcategory,
                &c.assignment_group,
                &c.assignee_email,
                &c.resolution_code,
                &c.resolution_notes,
                &c.contact,
                &c.region,
                &c.devices,
                &c.channel,
            ]
            .into_iter()
            .flatten(),
        ),
        "incidents",
    )?;
    let mut rejects = Rejects::create(&args.rejects_dir, "incidents-rejects.csv", &headers)?;
    let bar = progress(&args.incidents, args.quiet, "incidents");
    let mut counts = Counts::default();
    // Every alias this export names, with its line: a second row with the same reference is
    // rejected rather than silently overwriting the first.
    let mut seen: HashMap<String, u64> = HashMap::new();
    let mut batch: Vec<Pending<rows::IncidentRow>> = Vec::with_capacity(batch_size);
    let mut record = csv::StringRecord::new();
    while input.read_record(&mut record)? {
        counts.read += 1;
        let line = record.position().map_or(counts.read + 1, |p| p.line());
        bar.set_position(record.position().map_or(0, |p| p.byte()));
        match rows::incident(&cx, &columns, &record) {
            Err(reject) => rejects.write(&mut counts, line, &record, &reject)?,
            Ok(row) => {
                if let Some(first) = seen.get(&row.alias) {
                    let reject =
                        Reject::new("duplicate reference", format!("first on line {first}"));
                    rejects.write(&mut counts, line, &record, &reject)?;
                    continue;
                }
                seen.insert(row.alias.clone(), line);
                batch.push(Pending {
                    line,
                    record: record.clone(),
                    row,
                });
                if batch.len() >= batch_size {
                    write_incidents(
                        db,
                        incidents,
                        &cx,
                        args,
                        &mut batch,
                        &mut counts,
                        &mut rejects,
                    )?;
                }
            }
        }
    }
    write_incidents(
        db,
        incidents,
        &cx,
        args,
        &mut batch,
        &mut counts,
        &mut rejects,
    )?;
    bar.finish_and_clear();
    rejects.writer.flush()?;
    report.rejects.push(rejects.path);
    report.incidents = counts;

    if let Some(notes_path) = &args.notes {
        let note_mapping = mapping
            .notes
            .as_ref()
            .context("--notes needs a [notes] section in the mapping")?;
        let valid: BTreeSet<String> = seen.into_keys().collect();
        let (counts, path) = import_notes(
            db,
            incidents,
            &cx,
            note_mapping,
            args,
            notes_path,
            delimiter,
            &valid,
        )?;
        report.notes = Some(counts);
        report.rejects.push(path);
    }
    Ok(report)
}

fn write_incidents(
    db: &Db,
    incidents: &Incidents,
    cx: &Context<'_>,
    args: &ImportArgs,
    batch: &mut Vec<Pending<rows::IncidentRow>>,
    counts: &mut Counts,
    rejects: &mut Rejects,
) -> anyhow::Result<()> {
    if batch.is_empty() {
        return Ok(());
    }
    if args.dry_run {
        counts.imported += batch.len() as u64;
        batch.clear();
        return Ok(());
    }
    let source = cx.mapping.source.as_str();
    let actor = crate::admin::cli_actor();
    let now = cx.now;
    let write = |conn: &mut dsms_store::DbConnection, p: &Pending<rows::IncidentRow>| {
        incidents.import_historic(
            conn,
            now,
            &actor,
            source,
            &p.row.alias,
            &p.row.digest,
            &p.row.incident,
        )
    };
    let all = db.write_blocking(|conn| {
        batch
            .iter()
            .map(|p| write(conn, p))
            .collect::<Result<Vec<_>, _>>()
    });
    match all {
        Ok(outcomes) => outcomes.into_iter().for_each(|o| count(counts, o)),
        Err(dsms_incident::IncidentError::Store(dsms_store::StoreError::Unavailable(e))) => {
            anyhow::bail!("the database is unavailable: {e}")
        }
        // One row spoiled the batch: write each alone so only the bad ones are rejected.
        Err(_) => {
            for p in batch.iter() {
                match db.write_blocking(|conn| write(conn, p)) {
                    Ok(outcome) => count(counts, outcome),
                    Err(e) => rejects.write(
                        counts,
                        p.line,
                        &p.record,
                        &Reject::new("refused by the database", e.to_string()),
                    )?,
                }
            }
        }
    }
    batch.clear();
    Ok(())
}

#[allow(clippy::too_many_arguments)]
fn import_notes(
    db: &Db,
    incidents: &Incidents,
    cx: &Context<'_>,
    mapping: &mapping::NoteMapping,
    args: &ImportArgs,
    path: &Path,
    delimiter: u8,
    valid_incidents: &BTreeSet<String>,
) -> anyhow::Result<(Counts, PathBuf)> {
    let mut input = reader(path, delimiter)?;
    let headers = input.headers()?.clone();
    let c = &mapping.columns;
    let columns = Columns::new(
        &headers,
        [&c.id, &c.incident_reference, &c.created_at, &c.body]
            .into_iter()
            .chain(
                [&c.author_email, &c.author_name, &c.kind]
                    .into_iter()
                    .flatten(),
            ),
        "notes",
    )?;
    let mut rejects = Rejects::create(&args.rejects_dir, "notes-rejects.csv", &headers)?;
    let bar = progress(path, args.quiet, "notes");
    let mut counts = Counts::default();
    let mut seen: HashMap<String, u64> = HashMap::new();
    let mut batch: Vec<Pending<rows::NoteRow>> = Vec::new();
    let mut record = csv::StringRecord::new();
    let batch_size = args.batch_size.max(1);
    while input.read_record(&mut record)? {
        counts.read += 1;
        let line = record.position().map_or(counts.read + 1, |p| p.line());
        bar.set_position(record.position().map_or(0, |p| p.byte()));
        match rows::note(cx, mapping, &columns, &record) {
            Err(reject) => rejects.write(&mut counts, line, &record, &reject)?,
            Ok(row) => {
                if let Some(first) = seen.get(&row.external_id) {
                    let reject = Reject::new("duplicate note id", format!("first on line {first}"));
                    rejects.write(&mut counts, line, &record, &reject)?;
                    continue;
                }
                seen.insert(row.external_id.clone(), line);
                batch.push(Pending {
                    line,
                    record: record.clone(),
                    row,
                });
                if batch.len() >= batch_size {
                    write_notes(
                        db,
                        incidents,
                        cx,
                        args,
                        &mut batch,
                        &mut counts,
                        &mut rejects,
                        valid_incidents,
                    )?;
                }
            }
        }
    }
    write_notes(
        db,
        incidents,
        cx,
        args,
        &mut batch,
        &mut counts,
        &mut rejects,
        valid_incidents,
    )?;
    bar.finish_and_clear();
    rejects.writer.flush()?;
    Ok((counts, rejects.path))
}

/// How a note's incident was found: imported now or before, or not at all.
enum NoteOutcome {
    Done(Imported, i64),
    UnknownIncident,
}

#[allow(clippy::too_many_arguments)]
fn write_notes(
    db: &Db,
    incidents: &Incidents,
    cx: &Context<'_>,
    args: &ImportArgs,
    batch: &mut Vec<Pending<rows::NoteRow>>,
    counts: &mut Counts,
    rejects: &mut Rejects,
    valid_incidents: &BTreeSet<String>,
) -> anyhow::Result<()> {
    if batch.is_empty() {
        return Ok(());
    }
    let unknown = || Reject::new("unknown incident", "");
    if args.dry_run {
        let known: Vec<bool> = db.read_blocking(|conn| {
            batch
                .iter()
                .map(|p| {
                    Ok(valid_incidents.contains(&p.row.incident_alias)
                        || incidents
                            .imported_id(conn, &p.row.incident_alias)?
                            .is_some())
                })
                .collect::<Result<Vec<_>, dsms_incident::IncidentError>>()
        })?;
        for (p, known) in batch.iter().zip(known) {
            if known {
                counts.imported += 1;
            } else {
                let reject = Reject::new(unknown().kind, p.row.incident_alias.clone());
                rejects.write(counts, p.line, &p.record, &reject)?;
            }
        }
        batch.clear();
        return Ok(());
    }
    let source = cx.mapping.source.as_str();
    let write = |conn: &mut dsms_store::DbConnection, p: &Pending<rows::NoteRow>| {
        let Some(incident_id) = incidents.imported_id(conn, &p.row.incident_alias)? else {
            return Ok(NoteOutcome::UnknownIncident);
        };
        let r = &p.row;
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
        Ok::<_, dsms_incident::IncidentError>(NoteOutcome::Done(outcome, incident_id))
    };
    // The search index holds public comments: each incident whose notes changed is indexed
    // again once, at the end of its transaction.
    let reindex = |conn: &mut dsms_store::DbConnection, outcomes: &[&NoteOutcome]| {
        let touched: BTreeSet<i64> = outcomes
            .iter()
            .filter_map(|o| match o {
                NoteOutcome::Done(Imported::Created(_) | Imported::Updated(_), id) => Some(*id),
                _ => None,
            })
            .collect();
        for id in touched {
            incidents.reindex_imported(conn, id)?;
        }
        Ok::<_, dsms_incident::IncidentError>(())
    };
    let all = db.write_blocking(|conn| {
        let outcomes = batch
            .iter()
            .map(|p| write(conn, p))
            .collect::<Result<Vec<_>, _>>()?;
        reindex(conn, &outcomes.iter().collect::<Vec<_>>())?;
        Ok::<_, dsms_incident::IncidentError>(outcomes)
    });
    let outcomes: Vec<Result<NoteOutcome, String>> = match all {
        Ok(outcomes) => outcomes.into_iter().map(Ok).collect(),
        Err(dsms_incident::IncidentError::Store(dsms_store::StoreError::Unavailable(e))) => {
            anyhow::bail!("the database is unavailable: {e}")
        }
        // One row spoiled the batch: write each alone so only the bad ones are rejected.
        Err(_) => batch
            .iter()
            .map(|p| {
                db.write_blocking(|conn| {
                    let outcome = write(conn, p)?;
                    reindex(conn, &[&outcome])?;
                    Ok::<_, dsms_incident::IncidentError>(outcome)
                })
                .map_err(|e| e.to_string())
            })
            .collect(),
    };
    for (p, outcome) in batch.iter().zip(outcomes) {
        match outcome {
            Ok(NoteOutcome::Done(imported, _)) => count(counts, imported),
            Ok(NoteOutcome::UnknownIncident) => {
                let reject = Reject::new(unknown().kind, p.row.incident_alias.clone());
                rejects.write(counts, p.line, &p.record, &reject)?;
            }
            Err(e) => {
                rejects.write(
                    counts,
                    p.line,
                    &p.record,
                    &Reject::new("refused by the database", e),
                )?;
            }
        }
    }
    batch.clear();
    Ok(())
}
