-- OAuth client_ids are ClientApplication ids, looked up without knowing their project
-- (ResourceStore.locate). A partial index keeps that lookup cheap without indexing every type.
CREATE INDEX resource_client_application_id_idx ON resource (id) WHERE resource_type = 'ClientApplication';
