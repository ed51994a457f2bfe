-- "Least confident first": each document keeps the lowest score among the entities the model gave it.
--
-- An entity's score is the calibrated probability that exactly that span has exactly that label, so a
-- document's lowest score is (about) the chance that its least sure entity is right: ordering by it puts the
-- documents most likely to hold a wrong entity first, in the unit a reviewer sees on every entity. (A token-level
-- margin would also catch names the model missed, but the stored path does not keep token probabilities and
-- they are not calibrated.) It is the model's view when the document was tagged: corrections leave it as is.
--
-- A document without scored entities has +Infinity, the minimum of an empty set: it sorts after every scored
-- document, and the column stays NOT NULL so that the (score, id) keyset of a page is a plain row comparison
-- an index can range-scan. The API shows it as null.
--
-- The default fills the existing rows in place (no table rewrite) and covers documents stored by a replica
-- that predates this column while a deployment rolls; the update then gives documents with scored entities
-- their lowest score. Documents reviewed before this migration lost their model scores in the correction
-- (corrected entities have none), so they keep +Infinity.
ALTER TABLE documents ADD COLUMN lowest_entity_score real NOT NULL DEFAULT 'Infinity';

UPDATE documents d
SET lowest_entity_score = scored.lowest
FROM (SELECT document_id, min(score) AS lowest FROM entities WHERE score IS NOT NULL GROUP BY document_id) scored
WHERE d.id = scored.document_id;

-- Pages in least-confident order walk these like the newest-first pages walk the created_at indexes: a
-- tenant's (reviewers) and every tenant's (admins, and local use without keys).
CREATE INDEX documents_tenant_lowest_entity_score_id ON documents (tenant, lowest_entity_score, id);
CREATE INDEX documents_lowest_entity_score_id ON documents (lowest_entity_score, id);
