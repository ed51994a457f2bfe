-- Tenancy, idempotency keys per tenant, and entity texts of any length.
--
-- Every document belongs to the tenant of the API key that stored it; documents stored before (and those stored
-- while no keys are configured) belong to 'local'. The default only fills the existing rows: the service always
-- names the tenant. Entities carry their document's tenant too, so that counting a tenant's entities reads
-- the entities alone.
ALTER TABLE documents ADD COLUMN tenant text NOT NULL DEFAULT 'local';
ALTER TABLE documents ALTER COLUMN tenant DROP DEFAULT;
ALTER TABLE entities ADD COLUMN tenant text NOT NULL DEFAULT 'local';
ALTER TABLE entities ALTER COLUMN tenant DROP DEFAULT;

-- A tenant's pages, newest first; an admin's pages (every tenant) keep walking documents_created_at_id.
CREATE INDEX documents_tenant_created_at_id ON documents (tenant, created_at, id);

-- An idempotency key names a request within its tenant; document i of a batch keyed K is (K, i), which no
-- single request's key can collide with (a single request has no batch index). Keys stored earlier as 'K#i'
-- stay as they were. NULLS NOT DISTINCT makes (tenant, K, NULL) unique too; documents without a key are left out.
ALTER TABLE documents ADD COLUMN idempotency_batch_index integer;
ALTER TABLE documents DROP CONSTRAINT documents_idempotency_key_key;
CREATE UNIQUE INDEX documents_idempotency ON documents (tenant, idempotency_key, idempotency_batch_index) NULLS NOT DISTINCT
    WHERE idempotency_key IS NOT NULL;

-- A B-tree entry must fit in a third of a page (about 2,700 bytes), so indexing whole entity texts let one
-- long entity fail its insert (and, in a shared write batch, everyone else's). The exact-text index holds a
-- hash of the text and the prefix index its first 64 characters; queries recheck the full text.
DROP INDEX entities_text;
DROP INDEX entities_text_lower;
CREATE INDEX entities_text_md5 ON entities (md5(text), label);
CREATE INDEX entities_text_lower_prefix ON entities (left(text_lower, 64) text_pattern_ops, label);
-- The planner estimates conditions on these expressions from the indexes' own statistics; the finer target
-- that V001 gave the columns (see there) must be given to the expressions too.
ALTER INDEX entities_text_md5 ALTER COLUMN 1 SET STATISTICS 1000;
ALTER INDEX entities_text_lower_prefix ALTER COLUMN 1 SET STATISTICS 1000;
