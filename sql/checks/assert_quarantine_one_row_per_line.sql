-- Exactly one quarantine row per rejected input line. Returns duplicates (expect none).
select file_sha256, line, count(*) as rows from quarantine
group by file_sha256, line having count(*) > 1
