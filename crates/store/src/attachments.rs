//! Files attached to tickets, incidents and service requests alike: one table keyed by the
//! ticket's kind and id, and the one place its SQL lives. Every read is scoped in SQL to the
//! caller's organisation (operator staff see all) and, for files of work notes, to the service
//! desk; contexts check the ticket itself is visible before they come here.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use dsms_core::Principal;
use dsms_core::attachment::{Attachment, CheckedFile};

use crate::schema::attachments;
use crate::{DbConnection, StoreError};

/// The kind of ticket a file belongs to, as stored in `ticket_kind`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TicketKind {
    /// An incident.
    Incident,
    /// A service request.
    ServiceRequest,
}

impl TicketKind {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Incident => "incident",
            Self::ServiceRequest => "service_request",
        }
    }
}

/// A stored attachment, without its bytes.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = attachments)]
struct AttachmentRow {
    id: i64,
    ticket_id: i64,
    filename: String,
    content_type: String,
    size_bytes: i64,
    sha256: String,
    internal: bool,
    uploaded_by_kind: String,
    uploaded_by_id: i64,
    uploaded_by_name: String,
    created_at: NaiveDateTime,
}

impl From<AttachmentRow> for Attachment {
    fn from(a: AttachmentRow) -> Self {
        Self {
            id: a.id,
            ticket_id: a.ticket_id,
            filename: a.filename,
            content_type: a.content_type,
            size_bytes: a.size_bytes,
            sha256: a.sha256,
            internal: a.internal,
            uploaded_by_kind: a.uploaded_by_kind,
            uploaded_by_id: a.uploaded_by_id,
            uploaded_by_name: a.uploaded_by_name,
            created_at: a.created_at,
        }
    }
}

/// Where a checked file goes and who attached it.
#[derive(Debug, Clone, Copy)]
pub struct NewAttachment<'a> {
    /// The ticket's kind.
    pub kind: TicketKind,
    /// The ticket's id.
    pub ticket_id: i64,
    /// The ticket's (raising) organisation.
    pub organisation_id: i64,
    /// The checked file.
    pub file: &'a CheckedFile,
    /// Its bytes.
    pub data: &'a [u8],
    /// Attached to a work note: only the service desk sees it.
    pub internal: bool,
    /// `person` or `api_token`.
    pub uploaded_by_kind: &'a str,
    /// The uploader's id.
    pub uploaded_by_id: i64,
    /// The uploader's name at the time.
    pub uploaded_by_name: &'a str,
    /// When it is attached.
    pub created_at: NaiveDateTime,
}

/// Records an attachment, bytes and all, and returns it without its bytes.
pub fn insert(conn: &mut DbConnection, new: &NewAttachment<'_>) -> Result<Attachment, StoreError> {
    let id = diesel::insert_into(attachments::table)
        .values((
            attachments::ticket_kind.eq(new.kind.as_str()),
            attachments::ticket_id.eq(new.ticket_id),
            attachments::organisation_id.eq(new.organisation_id),
            attachments::filename.eq(&new.file.filename),
            attachments::content_type.eq(&new.file.content_type),
            attachments::size_bytes.eq(new.file.size_bytes),
            attachments::sha256.eq(&new.file.sha256),
            attachments::data.eq(new.data),
            attachments::internal.eq(new.internal),
            attachments::uploaded_by_kind.eq(new.uploaded_by_kind),
            attachments::uploaded_by_id.eq(new.uploaded_by_id),
            attachments::uploaded_by_name.eq(new.uploaded_by_name),
            attachments::created_at.eq(new.created_at),
        ))
        .returning(attachments::id)
        .get_result(conn)?;
    Ok(Attachment {
        id,
        ticket_id: new.ticket_id,
        filename: new.file.filename.clone(),
        content_type: new.file.content_type.clone(),
        size_bytes: new.file.size_bytes,
        sha256: new.file.sha256.clone(),
        internal: new.internal,
        uploaded_by_kind: new.uploaded_by_kind.to_owned(),
        uploaded_by_id: new.uploaded_by_id,
        uploaded_by_name: new.uploaded_by_name.to_owned(),
        created_at: new.created_at,
    })
}

/// The attachments of a ticket the caller may see, restricted to the caller's organisation and,
/// unless the caller is operator staff, without work notes' files.
fn visible(
    principal: &Principal,
    kind: TicketKind,
    ticket_id: i64,
) -> attachments::BoxedQuery<'static, crate::DbBackend> {
    let mut query = crate::scoped!(
        attachments::table.into_boxed(),
        attachments::organisation_id,
        principal
    )
    .filter(attachments::ticket_kind.eq(kind.as_str()))
    .filter(attachments::ticket_id.eq(ticket_id));
    if !principal.is_operator_staff() {
        query = query.filter(attachments::internal.eq(false));
    }
    query
}

/// The attachments of a ticket the caller may see, oldest first, without their bytes.
pub fn list(
    conn: &mut DbConnection,
    principal: &Principal,
    kind: TicketKind,
    ticket_id: i64,
) -> Result<Vec<Attachment>, StoreError> {
    Ok(visible(principal, kind, ticket_id)
        .order(attachments::id.asc())
        .select(AttachmentRow::as_select())
        .load::<AttachmentRow>(conn)?
        .into_iter()
        .map(Attachment::from)
        .collect())
}

/// One attachment of a ticket with its bytes, if the caller may see it: `NotFound` otherwise.
pub fn get(
    conn: &mut DbConnection,
    principal: &Principal,
    kind: TicketKind,
    ticket_id: i64,
    attachment_id: i64,
) -> Result<(Attachment, Vec<u8>), StoreError> {
    let (row, data) = visible(principal, kind, ticket_id)
        .filter(attachments::id.eq(attachment_id))
        .select((AttachmentRow::as_select(), attachments::data))
        .first::<(AttachmentRow, Vec<u8>)>(conn)?;
    Ok((Attachment::from(row), data))
}
