//! The one diesel schema both backends share. Kept by hand to match `migrations/`; the
//! store tests prove every table round-trips on SQLite and PostgreSQL.

diesel::table! {
    audit_log (id) {
        id -> BigInt,
        occurred_at -> Timestamp,
        actor_kind -> Text,
        actor_id -> Text,
        organisation_id -> Nullable<BigInt>,
        action -> Text,
        entity_type -> Text,
        entity_id -> Text,
        changes -> Text,
        request_id -> Nullable<Text>,
    }
}

diesel::table! {
    outbox (id) {
        id -> BigInt,
        kind -> Text,
        payload -> Text,
        status -> Text,
        attempts -> Integer,
        next_attempt_at -> Timestamp,
        leased_until -> Nullable<Timestamp>,
        leased_by -> Nullable<Text>,
        last_error -> Nullable<Text>,
        created_at -> Timestamp,
        delivered_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    organisations (id) {
        id -> BigInt,
        name -> Text,
        kind -> Text,
        sec_party_id -> Nullable<Text>,
        status -> Text,
        version -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    organisation_sec_roles (organisation_id, sec_role) {
        organisation_id -> BigInt,
        sec_role -> Text,
    }
}

diesel::table! {
    people (id) {
        id -> BigInt,
        organisation_id -> BigInt,
        email -> Text,
        name -> Text,
        password_hash -> Text,
        must_change_password -> Bool,
        password_changed_at -> Nullable<Timestamp>,
        totp_secret -> Nullable<Text>,
        totp_confirmed_at -> Nullable<Timestamp>,
        totp_last_step -> Nullable<BigInt>,
        last_sign_in_at -> Nullable<Timestamp>,
        status -> Text,
        version -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    person_roles (person_id, role) {
        person_id -> BigInt,
        role -> Text,
    }
}

diesel::table! {
    recovery_codes (id) {
        id -> BigInt,
        person_id -> BigInt,
        code_digest -> Text,
        used_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    mfa_challenges (id) {
        id -> BigInt,
        token_digest -> Text,
        person_id -> BigInt,
        purpose -> Text,
        pending_secret -> Nullable<Text>,
        created_at -> Timestamp,
        expires_at -> Timestamp,
        used_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    sessions (id) {
        id -> Text,
        person_id -> BigInt,
        kind -> Text,
        token_digest -> Nullable<Text>,
        csrf_token -> Nullable<Text>,
        created_at -> Timestamp,
        last_seen_at -> Timestamp,
        expires_at -> Timestamp,
        revoked_at -> Nullable<Timestamp>,
        ip -> Nullable<Text>,
        user_agent -> Nullable<Text>,
    }
}

diesel::table! {
    api_tokens (id) {
        id -> BigInt,
        organisation_id -> BigInt,
        name -> Text,
        token_digest -> Text,
        token_prefix -> Text,
        scopes -> Text,
        created_by -> BigInt,
        created_at -> Timestamp,
        expires_at -> Timestamp,
        revoked_at -> Nullable<Timestamp>,
        last_used_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    account_tokens (id) {
        id -> BigInt,
        person_id -> BigInt,
        purpose -> Text,
        token_digest -> Text,
        created_at -> Timestamp,
        expires_at -> Timestamp,
        used_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    sign_in_throttles (key) {
        key -> Text,
        failures -> Integer,
        window_started_at -> Timestamp,
        last_failure_at -> Timestamp,
        locked_until -> Nullable<Timestamp>,
    }
}

diesel::table! {
    incidents (id) {
        id -> BigInt,
        reference -> Text,
        organisation_id -> BigInt,
        raised_by_kind -> Text,
        raised_by_id -> BigInt,
        raised_by_name -> Text,
        channel -> Text,
        title -> Text,
        description -> Text,
        category -> Text,
        subcategory -> Nullable<Text>,
        impact -> Integer,
        urgency -> Integer,
        priority -> Integer,
        status -> Text,
        assignment_group -> Nullable<Text>,
        assignee_id -> Nullable<BigInt>,
        resolution_code -> Nullable<Text>,
        major -> Bool,
        parent_id -> Nullable<BigInt>,
        duplicate_of_id -> Nullable<BigInt>,
        responded_at -> Nullable<Timestamp>,
        resolved_at -> Nullable<Timestamp>,
        closed_at -> Nullable<Timestamp>,
        response_due_at -> Nullable<Timestamp>,
        resolution_due_at -> Nullable<Timestamp>,
        response_at_risk_at -> Nullable<Timestamp>,
        resolution_at_risk_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        version -> BigInt,
    }
}

diesel::table! {
    incident_details (incident_id) {
        incident_id -> BigInt,
        contact -> Nullable<Text>,
        region -> Nullable<Text>,
        fault_started_at -> Nullable<Timestamp>,
        message_ids -> Nullable<Text>,
        priority_reason -> Nullable<Text>,
        resolution_notes -> Nullable<Text>,
    }
}

diesel::table! {
    incident_devices (incident_id, device_id) {
        incident_id -> BigInt,
        device_id -> Text,
    }
}

diesel::table! {
    incident_pauses (id) {
        id -> BigInt,
        incident_id -> BigInt,
        reason -> Text,
        started_at -> Timestamp,
        ended_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    incident_comments (id) {
        id -> BigInt,
        incident_id -> BigInt,
        author_kind -> Text,
        author_id -> BigInt,
        author_name -> Text,
        body -> Text,
        internal -> Bool,
        created_at -> Timestamp,
    }
}

diesel::table! {
    incident_sla_events (incident_id, clock, kind) {
        incident_id -> BigInt,
        clock -> Text,
        kind -> Text,
        fired_at -> Timestamp,
    }
}

diesel::table! {
    idempotency_keys (scope, key) {
        scope -> Text,
        key -> Text,
        request_digest -> Text,
        status -> Integer,
        location -> Nullable<Text>,
        body -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    webhook_endpoints (id) {
        id -> BigInt,
        organisation_id -> BigInt,
        url -> Text,
        description -> Text,
        events -> Text,
        secret_sealed -> Text,
        status -> Text,
        disabled_reason -> Nullable<Text>,
        consecutive_failures -> Integer,
        first_failure_at -> Nullable<Timestamp>,
        created_by -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        version -> BigInt,
    }
}

diesel::table! {
    webhook_deliveries (id) {
        id -> BigInt,
        endpoint_id -> BigInt,
        outbox_id -> BigInt,
        event_type -> Text,
        event_id -> BigInt,
        attempt -> Integer,
        status_code -> Nullable<Integer>,
        error -> Nullable<Text>,
        duration_ms -> BigInt,
        delivered -> Bool,
        created_at -> Timestamp,
    }
}

diesel::table! {
    attachments (id) {
        id -> BigInt,
        ticket_kind -> Text,
        ticket_id -> BigInt,
        organisation_id -> BigInt,
        filename -> Text,
        content_type -> Text,
        size_bytes -> BigInt,
        sha256 -> Text,
        data -> Binary,
        internal -> Bool,
        uploaded_by_kind -> Text,
        uploaded_by_id -> BigInt,
        uploaded_by_name -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    resolver_groups (id) {
        id -> BigInt,
        name -> Text,
        description -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    group_members (group_id, person_id) {
        group_id -> BigInt,
        person_id -> BigInt,
        added_at -> Timestamp,
    }
}

diesel::table! {
    saved_views (id) {
        id -> BigInt,
        person_id -> BigInt,
        name -> Text,
        query -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    hub_variants (id) {
        id -> BigInt,
        product_code -> Text,
        name -> Text,
        radio_technology -> Text,
        region -> Text,
        han_band -> Text,
        active -> Bool,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        version -> BigInt,
    }
}

diesel::table! {
    hub_auxiliary_items (id) {
        id -> BigInt,
        code -> Text,
        name -> Text,
        description -> Text,
        pack_size -> BigInt,
        minimum_quantity -> BigInt,
        maximum_quantity -> Nullable<BigInt>,
        active -> Bool,
        available_from -> Text,
        available_until -> Nullable<Text>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        version -> BigInt,
    }
}

diesel::table! {
    hub_order_auxiliary_lines (order_id, item_id) {
        order_id -> BigInt,
        item_id -> BigInt,
        quantity -> BigInt,
    }
}

diesel::table! {
    delivery_locations (id) {
        id -> BigInt,
        organisation_id -> BigInt,
        name -> Text,
        address -> Text,
        postcode -> Text,
        contact_name -> Text,
        contact_phone -> Text,
        contact_email -> Nullable<Text>,
        delivery_days -> Text,
        status -> Text,
        decision_note -> Nullable<Text>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        version -> BigInt,
    }
}

diesel::table! {
    hub_forecasts (id) {
        id -> BigInt,
        organisation_id -> BigInt,
        sequence -> BigInt,
        cycle_month -> Text,
        due_on -> Text,
        late -> Bool,
        submitted_by_kind -> Text,
        submitted_by_id -> BigInt,
        submitted_by_name -> Text,
        submitted_at -> Timestamp,
    }
}

diesel::table! {
    hub_forecast_lines (forecast_id, month, variant_id) {
        forecast_id -> BigInt,
        month -> Text,
        variant_id -> BigInt,
        quantity -> BigInt,
    }
}

diesel::table! {
    hub_orders (id) {
        id -> BigInt,
        reference -> Text,
        organisation_id -> BigInt,
        location_id -> BigInt,
        variant_id -> BigInt,
        delivery_month -> Text,
        quantity -> BigInt,
        status -> Text,
        rules_effective_from -> Text,
        forecast_id -> Nullable<BigInt>,
        decision_reason -> Nullable<Text>,
        placed_by_kind -> Text,
        placed_by_id -> BigInt,
        placed_by_name -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        version -> BigInt,
    }
}

diesel::table! {
    hub_consignments (id) {
        id -> BigInt,
        order_id -> BigInt,
        delivery_date -> Text,
        quantity -> BigInt,
        status -> Text,
        confirmed_at -> Nullable<Timestamp>,
        confirmed_by_name -> Nullable<Text>,
        notes -> Nullable<Text>,
        created_at -> Timestamp,
        deemed_accepted_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    hub_planned_consignments (id) {
        id -> BigInt,
        order_id -> BigInt,
        delivery_date -> Text,
        quantity -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    hub_serials (serial) {
        serial -> Text,
        variant_id -> BigInt,
        organisation_id -> BigInt,
        order_id -> BigInt,
        consignment_id -> BigInt,
        status -> Text,
    }
}

diesel::table! {
    hub_discrepancies (id) {
        id -> BigInt,
        order_id -> BigInt,
        consignment_id -> BigInt,
        kind -> Text,
        serials -> Text,
        quantity -> BigInt,
        status -> Text,
        created_at -> Timestamp,
        outcome -> Nullable<Text>,
        settlement_note -> Nullable<Text>,
        settled_at -> Nullable<Timestamp>,
        settled_by_name -> Nullable<Text>,
        organisation_id -> Nullable<BigInt>,
        updated_at -> Nullable<Timestamp>,
        version -> BigInt,
    }
}

diesel::table! {
    hub_returns (id) {
        id -> BigInt,
        reference -> Text,
        organisation_id -> BigInt,
        status -> Text,
        incident_id -> Nullable<BigInt>,
        quantity -> BigInt,
        charge_pence -> Nullable<BigInt>,
        credit_pence -> Nullable<BigInt>,
        notes -> Nullable<Text>,
        requested_by_kind -> Text,
        requested_by_id -> BigInt,
        requested_by_name -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        version -> BigInt,
    }
}

diesel::table! {
    hub_return_lines (serial) {
        serial -> Text,
        return_id -> BigInt,
        reason -> Text,
        faulty -> Bool,
        found -> Nullable<Text>,
        fault_confirmed -> Nullable<Bool>,
        redeployable -> Nullable<Bool>,
        settlement -> Nullable<Text>,
        amount_pence -> Nullable<BigInt>,
    }
}

diesel::table! {
    catalogue_items (id) {
        id -> BigInt,
        code -> Text,
        active -> Bool,
        current_version_id -> Nullable<BigInt>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        version -> BigInt,
    }
}

diesel::table! {
    catalogue_item_versions (id) {
        id -> BigInt,
        item_id -> BigInt,
        number -> Integer,
        definition -> Text,
        created_by_name -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    service_requests (id) {
        id -> BigInt,
        reference -> Text,
        organisation_id -> BigInt,
        item_id -> BigInt,
        item_version_id -> BigInt,
        raised_by_kind -> Text,
        raised_by_id -> BigInt,
        raised_by_name -> Text,
        channel -> Text,
        summary -> Text,
        contact -> Nullable<Text>,
        answers -> Text,
        status -> Text,
        fulfilled_at -> Nullable<Timestamp>,
        closed_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        version -> BigInt,
    }
}

diesel::table! {
    service_request_sla_events (request_id, clock, kind) {
        request_id -> BigInt,
        clock -> Text,
        kind -> Text,
        fired_at -> Timestamp,
    }
}

diesel::table! {
    service_request_approvals (id) {
        id -> BigInt,
        request_id -> BigInt,
        step -> Integer,
        approver -> Text,
        status -> Text,
        decided_by_kind -> Nullable<Text>,
        decided_by_id -> Nullable<BigInt>,
        decided_by_name -> Nullable<Text>,
        decided_at -> Nullable<Timestamp>,
        comment -> Nullable<Text>,
    }
}

diesel::table! {
    service_request_tasks (id) {
        id -> BigInt,
        request_id -> BigInt,
        position -> Integer,
        name -> Text,
        resolver_group -> Text,
        status -> Text,
        completed_by_id -> Nullable<BigInt>,
        completed_by_name -> Nullable<Text>,
        completed_at -> Nullable<Timestamp>,
        notes -> Nullable<Text>,
    }
}

diesel::table! {
    service_request_comments (id) {
        id -> BigInt,
        request_id -> BigInt,
        author_kind -> Text,
        author_id -> BigInt,
        author_name -> Text,
        body -> Text,
        internal -> Bool,
        created_at -> Timestamp,
    }
}

diesel::table! {
    report_incident_facts (incident_id) {
        incident_id -> BigInt,
        organisation_id -> BigInt,
        priority -> Integer,
        category -> Text,
        assignment_group -> Nullable<Text>,
        created_on -> Date,
        resolved_on -> Nullable<Date>,
        response_seconds -> Nullable<BigInt>,
        response_met -> Nullable<Bool>,
        resolution_seconds -> Nullable<BigInt>,
        resolution_met -> Nullable<Bool>,
        reopened -> Bool,
        source_version -> BigInt,
        source_updated_at -> Timestamp,
        response_bucket -> Nullable<Integer>,
        resolution_bucket -> Nullable<Integer>,
    }
}

diesel::table! {
    network_devices (device_id) {
        device_id -> Text,
        organisation_id -> BigInt,
        device_type -> Nullable<Text>,
        region -> Nullable<Text>,
        recorded_at -> Timestamp,
    }
}

diesel::table! {
    report_subscriptions (id) {
        id -> BigInt,
        person_id -> BigInt,
        organisation_id -> BigInt,
        report -> Text,
        parameters -> Text,
        cadence -> Text,
        working_day -> Nullable<Integer>,
        created_at -> Timestamp,
        cancelled_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    report_deliveries (subscription_id, period_start) {
        subscription_id -> BigInt,
        period_start -> Date,
        outbox_id -> BigInt,
        created_at -> Timestamp,
    }
}

diesel::table! {
    incident_aliases (alias) {
        alias -> Text,
        incident_id -> BigInt,
        source -> Text,
        row_digest -> Text,
        imported_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    imported_comments (source, external_id) {
        source -> Text,
        external_id -> Text,
        comment_id -> BigInt,
        row_digest -> Text,
    }
}

diesel::table! {
    service_request_aliases (alias) {
        alias -> Text,
        request_id -> BigInt,
        source -> Text,
        row_digest -> Text,
        imported_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    imported_request_comments (source, external_id) {
        source -> Text,
        external_id -> Text,
        comment_id -> BigInt,
        row_digest -> Text,
    }
}

diesel::table! {
    signing_keys (kid) {
        kid -> Text,
        secret_sealed -> Nullable<Text>,
        created_at -> Timestamp,
        retired_at -> Nullable<Timestamp>,
    }
}

diesel::joinable!(organisation_sec_roles -> organisations (organisation_id));
diesel::joinable!(people -> organisations (organisation_id));
diesel::joinable!(person_roles -> people (person_id));
diesel::joinable!(recovery_codes -> people (person_id));
diesel::joinable!(mfa_challenges -> people (person_id));
diesel::joinable!(sessions -> people (person_id));
diesel::joinable!(api_tokens -> organisations (organisation_id));
diesel::joinable!(account_tokens -> people (person_id));
diesel::joinable!(incidents -> organisations (organisation_id));
diesel::joinable!(incident_details -> incidents (incident_id));
diesel::joinable!(incident_devices -> incidents (incident_id));
diesel::joinable!(incident_pauses -> incidents (incident_id));
diesel::joinable!(incident_comments -> incidents (incident_id));
diesel::joinable!(incident_sla_events -> incidents (incident_id));
diesel::joinable!(webhook_endpoints -> organisations (organisation_id));
diesel::joinable!(webhook_deliveries -> webhook_endpoints (endpoint_id));
diesel::joinable!(attachments -> organisations (organisation_id));
diesel::joinable!(incident_aliases -> incidents (incident_id));
diesel::joinable!(imported_comments -> incident_comments (comment_id));
diesel::joinable!(group_members -> resolver_groups (group_id));
diesel::joinable!(group_members -> people (person_id));
diesel::joinable!(saved_views -> people (person_id));

diesel::joinable!(delivery_locations -> organisations (organisation_id));
diesel::joinable!(hub_forecasts -> organisations (organisation_id));
diesel::joinable!(hub_forecast_lines -> hub_forecasts (forecast_id));
diesel::joinable!(hub_forecast_lines -> hub_variants (variant_id));
diesel::joinable!(hub_orders -> organisations (organisation_id));
diesel::joinable!(hub_orders -> hub_variants (variant_id));
diesel::joinable!(hub_orders -> delivery_locations (location_id));
diesel::joinable!(hub_consignments -> hub_orders (order_id));
diesel::joinable!(hub_serials -> hub_consignments (consignment_id));
diesel::joinable!(hub_planned_consignments -> hub_orders (order_id));
diesel::joinable!(hub_serials -> hub_variants (variant_id));
diesel::joinable!(hub_discrepancies -> hub_consignments (consignment_id));
diesel::joinable!(hub_returns -> organisations (organisation_id));
diesel::joinable!(hub_return_lines -> hub_returns (return_id));
diesel::joinable!(hub_return_lines -> hub_serials (serial));
diesel::joinable!(hub_order_auxiliary_lines -> hub_orders (order_id));
diesel::joinable!(hub_order_auxiliary_lines -> hub_auxiliary_items (item_id));

diesel::joinable!(catalogue_item_versions -> catalogue_items (item_id));
diesel::joinable!(service_requests -> organisations (organisation_id));
diesel::joinable!(service_requests -> catalogue_items (item_id));
diesel::joinable!(service_requests -> catalogue_item_versions (item_version_id));
diesel::joinable!(service_request_approvals -> service_requests (request_id));
diesel::joinable!(service_request_tasks -> service_requests (request_id));
diesel::joinable!(service_request_comments -> service_requests (request_id));
diesel::joinable!(service_request_sla_events -> service_requests (request_id));
diesel::joinable!(service_request_aliases -> service_requests (request_id));
diesel::joinable!(imported_request_comments -> service_request_comments (comment_id));

diesel::joinable!(report_incident_facts -> incidents (incident_id));
diesel::joinable!(network_devices -> organisations (organisation_id));
diesel::joinable!(report_subscriptions -> people (person_id));
diesel::joinable!(report_deliveries -> report_subscriptions (subscription_id));

diesel::allow_tables_to_appear_in_same_query!(
    incident_aliases,
    imported_comments,
    service_request_aliases,
    imported_request_comments,
    signing_keys,
    audit_log,
    outbox,
    organisations,
    organisation_sec_roles,
    people,
    person_roles,
    recovery_codes,
    mfa_challenges,
    sessions,
    api_tokens,
    account_tokens,
    sign_in_throttles,
    incidents,
    incident_details,
    incident_devices,
    incident_pauses,
    incident_comments,
    incident_sla_events,
    idempotency_keys,
    webhook_endpoints,
    webhook_deliveries,
    attachments,
    catalogue_items,
    catalogue_item_versions,
    service_requests,
    service_request_approvals,
    service_request_tasks,
    service_request_comments,
    service_request_sla_events,
    resolver_groups,
    group_members,
    saved_views,
    hub_variants,
    delivery_locations,
    hub_forecasts,
    hub_forecast_lines,
    hub_orders,
    hub_consignments,
    hub_planned_consignments,
    hub_serials,
    hub_discrepancies,
    hub_returns,
    hub_return_lines,
    hub_auxiliary_items,
    hub_order_auxiliary_lines,
    report_incident_facts,
    network_devices,
    report_subscriptions,
    report_deliveries,
);
