-- The directory: local authorities, suppliers, organisations, services, practitioners and
-- children with their addresses, parents and carers, former names and involvements.
-- Identifiers come from id_allocators (one portable sequence per table) so bulk loads can
-- number their rows before inserting them.

CREATE TABLE id_allocators (
    name TEXT PRIMARY KEY,
    next_id BIGINT NOT NULL
);
INSERT INTO id_allocators (name, next_id) VALUES
    ('organisations', 1), ('services', 1), ('practitioners', 1), ('children', 1),
    ('child_former_names', 1), ('child_addresses', 1), ('parents_carers', 1), ('involvements', 1);

CREATE TABLE local_authorities (
    code TEXT PRIMARY KEY CHECK (length(code) = 9),
    name TEXT NOT NULL UNIQUE,
    team_email TEXT NOT NULL,
    team_telephone TEXT NOT NULL
);

CREATE TABLE sources (
    code TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    national BOOLEAN NOT NULL
);
INSERT INTO sources (code, name, national) VALUES
    ('birth_registration', 'General Register Office birth registrations', true),
    ('schools_census', 'Schools census', true),
    ('child_benefit', 'Child benefit records', true),
    ('nhs_demographics', 'NHS demographics', true),
    ('local_systems', 'Local authority and agency systems', false);

CREATE TABLE organisations (
    id BIGINT PRIMARY KEY,
    kind TEXT NOT NULL,
    name TEXT NOT NULL,
    local_authority TEXT NOT NULL REFERENCES local_authorities (code),
    address_line1 TEXT,
    address_line2 TEXT,
    town TEXT,
    postcode TEXT,
    telephone TEXT,
    email TEXT
);
CREATE INDEX organisations_by_local_authority ON organisations (local_authority);

CREATE TABLE services (
    id BIGINT PRIMARY KEY,
    organisation_id BIGINT NOT NULL REFERENCES organisations (id),
    name TEXT NOT NULL,
    category TEXT NOT NULL,
    sensitive BOOLEAN NOT NULL,
    address_line1 TEXT,
    address_line2 TEXT,
    town TEXT,
    postcode TEXT,
    telephone TEXT,
    email TEXT,
    CHECK (sensitive = (category IN ('sexual_health', 'mental_health', 'substance_misuse')))
);
CREATE INDEX services_by_organisation ON services (organisation_id);

CREATE TABLE practitioners (
    id BIGINT PRIMARY KEY,
    service_id BIGINT NOT NULL REFERENCES services (id),
    given_name TEXT NOT NULL,
    family_name TEXT NOT NULL,
    telephone TEXT,
    email TEXT
);
CREATE INDEX practitioners_by_service ON practitioners (service_id);

CREATE TABLE children (
    id BIGINT PRIMARY KEY,
    contactpoint_id TEXT NOT NULL UNIQUE CHECK (length(contactpoint_id) = 12),
    given_name TEXT NOT NULL,
    middle_names TEXT,
    family_name TEXT NOT NULL,
    gender TEXT NOT NULL CHECK (gender IN ('female', 'male', 'not_specified')),
    date_of_birth DATE NOT NULL,
    date_of_death DATE,
    local_authority TEXT NOT NULL REFERENCES local_authorities (code),
    shielded BOOLEAN NOT NULL,
    address_state TEXT NOT NULL CHECK (address_state IN ('current', 'last_known', 'no_known_address', 'left_england')),
    return_intention TEXT CHECK (return_intention IN ('within_three_years', 'not_returning', 'not_known')),
    address_since DATE NOT NULL,
    name_source TEXT NOT NULL REFERENCES sources (code),
    name_supplied_at TIMESTAMPTZ NOT NULL,
    gender_source TEXT NOT NULL REFERENCES sources (code),
    gender_supplied_at TIMESTAMPTZ NOT NULL,
    date_of_birth_source TEXT NOT NULL REFERENCES sources (code),
    date_of_birth_supplied_at TIMESTAMPTZ NOT NULL,
    address_source TEXT NOT NULL REFERENCES sources (code),
    address_supplied_at TIMESTAMPTZ NOT NULL,
    date_of_death_source TEXT REFERENCES sources (code),
    date_of_death_supplied_at TIMESTAMPTZ,
    CHECK ((address_state = 'left_england') = (return_intention IS NOT NULL)),
    CHECK ((date_of_death IS NULL) = (date_of_death_source IS NULL))
);
CREATE INDEX children_by_local_authority ON children (local_authority);

CREATE TABLE child_former_names (
    id BIGINT PRIMARY KEY,
    child_id BIGINT NOT NULL REFERENCES children (id),
    given_name TEXT,
    family_name TEXT NOT NULL,
    source TEXT NOT NULL REFERENCES sources (code),
    supplied_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX child_former_names_by_child ON child_former_names (child_id);

-- Every address a child has had. The row with no valid_to is the current (or last known) one.
CREATE TABLE child_addresses (
    id BIGINT PRIMARY KEY,
    child_id BIGINT NOT NULL REFERENCES children (id),
    line1 TEXT NOT NULL,
    line2 TEXT,
    town TEXT NOT NULL,
    postcode TEXT NOT NULL,
    valid_from DATE NOT NULL,
    valid_to DATE,
    CHECK (valid_to IS NULL OR valid_to >= valid_from)
);
CREATE INDEX child_addresses_by_child ON child_addresses (child_id);

CREATE TABLE parents_carers (
    id BIGINT PRIMARY KEY,
    child_id BIGINT NOT NULL REFERENCES children (id),
    given_name TEXT NOT NULL,
    family_name TEXT NOT NULL,
    relationship TEXT NOT NULL,
    address_line1 TEXT,
    address_line2 TEXT,
    town TEXT,
    postcode TEXT,
    telephone TEXT,
    source TEXT NOT NULL REFERENCES sources (code),
    supplied_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX parents_carers_by_child ON parents_carers (child_id);

CREATE TABLE involvements (
    id BIGINT PRIMARY KEY,
    child_id BIGINT NOT NULL REFERENCES children (id),
    service_id BIGINT NOT NULL REFERENCES services (id),
    practitioner_id BIGINT REFERENCES practitioners (id),
    started_on DATE NOT NULL,
    ended_on DATE,
    lead_professional BOOLEAN NOT NULL,
    caf_completed_on DATE,
    sensitive_basis TEXT CHECK (sensitive_basis IN ('consent', 'child_protection')),
    consent_given_by TEXT CHECK (consent_given_by IN ('child', 'parent_carer')),
    consent_given_on DATE,
    child_protection_reference TEXT,
    source TEXT NOT NULL REFERENCES sources (code),
    supplied_at TIMESTAMPTZ NOT NULL,
    CHECK (ended_on IS NULL OR ended_on >= started_on),
    CHECK ((COALESCE(sensitive_basis, '') = 'consent') = (consent_given_by IS NOT NULL AND consent_given_on IS NOT NULL)),
    CHECK ((COALESCE(sensitive_basis, '') = 'child_protection') = (child_protection_reference IS NOT NULL))
);
CREATE INDEX involvements_by_child ON involvements (child_id);
CREATE INDEX involvements_by_service ON involvements (service_id);
