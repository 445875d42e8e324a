//! Files attached to service requests: added to an open request by its raising organisation or
//! the service desk (work notes' files by the desk only), or sent with a request as it is raised
//! to answer its form's file fields. The checks (types, content, size) and the storage are the
//! ones incidents use: `dsms_core::attachment` and `dsms_store::attachments`.

use chrono::{DateTime, Utc};
use dsms_core::attachment::{self, Attachment, CheckedFile};
use dsms_core::{Permission, Principal, ValidationErrors};
use dsms_store::attachments::{self as files, NewAttachment, TicketKind};
use dsms_store::audit::{self, AuditEvent, Changes};
use dsms_store::{DbConnection, timestamp};
use serde_json::{Map, Value};

use crate::lifecycle::{Mover, Status};
use crate::model::{RequestError, ServiceRequest};
use crate::service::{ENTITY, EVENT_KIND, ServiceRequests, author, event_payload, forbidden};
use crate::store;

/// The history action and domain event of a file attached to a request.
const ATTACHMENT_ADDED: &str = "request.attachment_added";

/// A file sent with a request being raised, answering one of its form's file fields.
#[derive(Debug, Clone)]
pub struct NewFile {
    /// The file field's key.
    pub field: String,
    /// The file's name as sent.
    pub filename: String,
    /// The media type as sent, if any.
    pub content_type: Option<String>,
    /// Its bytes.
    pub bytes: Vec<u8>,
}

/// A file for a file field that passed its checks.
pub(crate) struct AnswerFile<'a> {
    field: &'a str,
    file: CheckedFile,
    bytes: &'a [u8],
}

/// Checks the files sent with a new request under the same rules as any attachment, naming
/// every problem `fields.<key>`.
pub(crate) fn check_answer_files<'a>(
    sent: &'a [NewFile],
    limit: usize,
    errors: &mut ValidationErrors,
) -> Vec<AnswerFile<'a>> {
    let mut checked = Vec::new();
    for new in sent {
        let path = format!("fields.{}", new.field);
        match attachment::check_file(
            &path,
            &path,
            &new.filename,
            new.content_type.as_deref(),
            &new.bytes,
            limit,
        ) {
            Ok(file) => checked.push(AnswerFile {
                field: &new.field,
                file,
                bytes: &new.bytes,
            }),
            Err(e) => errors.0.extend(e.0),
        }
    }
    checked
}

/// The answer a file field holds: the attachment it refers to.
pub fn file_answer(attachment: &Attachment) -> Value {
    serde_json::json!({
        "attachment_id": attachment.id.to_string(),
        "filename": attachment.filename,
        "content_type": attachment.content_type,
        "size_bytes": attachment.size_bytes,
    })
}

/// The attachment id a file field's answer refers to.
pub fn answer_attachment_id(answer: &Value) -> Option<i64> {
    answer.get("attachment_id")?.as_str()?.parse().ok()
}

/// The history entry of an attachment; a work note's names nothing of it but its id, as
/// organisations can read their requests' history.
fn history(
    conn: &mut DbConnection,
    principal: &Principal,
    now: DateTime<Utc>,
    organisation_id: i64,
    attached: &Attachment,
    field: Option<&str>,
    request_id: Option<&str>,
) -> Result<(), RequestError> {
    let changes = if attached.internal {
        Changes::new()
            .created("attachment_id", attached.id)
            .created("internal", true)
    } else {
        let changes = Changes::new()
            .created("attachment_id", attached.id)
            .created("filename", attached.filename.as_str())
            .created("content_type", attached.content_type.as_str())
            .created("size_bytes", attached.size_bytes)
            .created("sha256", attached.sha256.as_str());
        match field {
            Some(field) => changes.created("field", field),
            None => changes,
        }
    };
    audit::record(
        conn,
        now,
        AuditEvent {
            actor: &principal.actor,
            organisation_id: Some(organisation_id),
            action: if attached.internal {
                "service_request.work_note_attachment_added"
            } else {
                "service_request.attachment_added"
            },
            entity_type: ENTITY,
            entity_id: attached.ticket_id.to_string(),
            changes,
            request_id,
        },
    )?;
    Ok(())
}

/// Queues the domain event of a file the raising organisation can see.
pub(crate) fn announce(
    conn: &mut DbConnection,
    now: DateTime<Utc>,
    request: &ServiceRequest,
    attached: &Attachment,
) -> Result<(), RequestError> {
    let mut payload = event_payload(ATTACHMENT_ADDED, now, request);
    payload["attachment"] = serde_json::json!({
        "id": attached.id.to_string(),
        "filename": attached.filename,
        "content_type": attached.content_type,
        "size_bytes": attached.size_bytes,
        "sha256": attached.sha256,
        "uploaded_by": attached.uploaded_by_name,
    });
    dsms_store::outbox::enqueue(conn, now, EVENT_KIND, &payload)?;
    Ok(())
}

/// Stores the files answering a new request's file fields, each with its history entry, and
/// writes their answers into the request; returns the stored attachments.
pub(crate) fn store_answer_files(
    conn: &mut DbConnection,
    principal: &Principal,
    now: DateTime<Utc>,
    (request_id, organisation_id): (i64, i64),
    sent: Vec<AnswerFile<'_>>,
    answers: &mut Map<String, Value>,
) -> Result<Vec<Attachment>, RequestError> {
    if sent.is_empty() {
        return Ok(Vec::new());
    }
    let (kind, uploader) = author(principal, "attach files")?;
    let mut stored = Vec::new();
    for answer in sent {
        let attached = files::insert(
            conn,
            &NewAttachment {
                kind: TicketKind::ServiceRequest,
                ticket_id: request_id,
                organisation_id,
                file: &answer.file,
                data: answer.bytes,
                internal: false,
                uploaded_by_kind: kind,
                uploaded_by_id: uploader,
                uploaded_by_name: &principal.display_name,
                created_at: timestamp(now),
            },
        )?;
        history(
            conn,
            principal,
            now,
            organisation_id,
            &attached,
            Some(answer.field),
            None,
        )?;
        answers.insert(answer.field.to_owned(), file_answer(&attached));
        stored.push(attached);
    }
    store::set_answers(
        conn,
        request_id,
        &Value::Object(answers.clone()).to_string(),
    )?;
    Ok(stored)
}

impl ServiceRequests {
    /// Attaches a file to an open request, under the same rules as a comment: the raising
    /// organisation or the service desk; `internal` (a work note's file, never shown to
    /// organisations) for the service desk only. The file must not be empty or larger than the
    /// policy allows, and its bytes must be of an accepted type that agrees with
    /// `declared_content_type` (absent or `application/octet-stream`: the type the bytes show).
    #[allow(clippy::too_many_arguments)]
    pub fn attach(
        &self,
        principal: &Principal,
        key: &str,
        filename: &str,
        declared_content_type: Option<&str>,
        bytes: &[u8],
        internal: bool,
        request_id: Option<&str>,
    ) -> Result<Attachment, RequestError> {
        principal.require(Permission::ViewRequests, "see service requests")?;
        let id = Self::resolve_key(key)?;
        let now = self.now();
        let stamp = timestamp(now);
        // Checked and hashed before the transaction, so the write lock is held only to write.
        let file = attachment::check_file(
            "file",
            "filename",
            filename,
            declared_content_type,
            bytes,
            self.inner.policy.max_attachment_bytes,
        )?;
        self.inner.db.write_blocking(|conn| {
            let before = store::load_visible(conn, principal, id)?;
            let mover = Self::mover(principal, before.organisation_id)
                .ok_or_else(|| forbidden("attach files to service requests"))?;
            if internal && mover != Mover::Desk {
                return Err(forbidden("attach files to work notes"));
            }
            let status = Status::parse(&before.status).unwrap_or(Status::Submitted);
            if !status.is_open() {
                return Err(RequestError::Transition {
                    detail: format!("a {status} request takes no more files"),
                    allowed: Vec::new(),
                });
            }
            let (kind, uploader) = author(principal, "attach files")?;
            let attached = files::insert(
                conn,
                &NewAttachment {
                    kind: TicketKind::ServiceRequest,
                    ticket_id: id,
                    organisation_id: before.organisation_id,
                    file: &file,
                    data: bytes,
                    internal,
                    uploaded_by_kind: kind,
                    uploaded_by_id: uploader,
                    uploaded_by_name: &principal.display_name,
                    created_at: stamp,
                },
            )?;
            let mut row = before.clone();
            row.version += 1;
            row.updated_at = stamp;
            store::update_request(conn, &row, before.version)?;
            history(
                conn,
                principal,
                now,
                row.organisation_id,
                &attached,
                None,
                request_id,
            )?;
            if !internal {
                let request = self.reload(conn, id, now)?;
                announce(conn, now, &request, &attached)?;
            }
            Ok(attached)
        })
    }

    /// The files attached to a request, oldest first, without their bytes; work notes' files
    /// for the service desk only.
    pub fn attachments(
        &self,
        principal: &Principal,
        key: &str,
    ) -> Result<Vec<Attachment>, RequestError> {
        principal.require(Permission::ViewRequests, "see service requests")?;
        let id = Self::resolve_key(key)?;
        Ok(self.inner.db.read_blocking(|conn| {
            store::load_visible(conn, principal, id)?;
            files::list(conn, principal, TicketKind::ServiceRequest, id)
        })?)
    }

    /// One attached file with its bytes, if the caller may see it: not found otherwise,
    /// including a work note's file asked for by an organisation.
    pub fn attachment(
        &self,
        principal: &Principal,
        key: &str,
        attachment_id: i64,
    ) -> Result<(Attachment, Vec<u8>), RequestError> {
        principal.require(Permission::ViewRequests, "see service requests")?;
        let id = Self::resolve_key(key)?;
        Ok(self.inner.db.read_blocking(|conn| {
            store::load_visible(conn, principal, id)?;
            files::get(
                conn,
                principal,
                TicketKind::ServiceRequest,
                id,
                attachment_id,
            )
        })?)
    }
}
