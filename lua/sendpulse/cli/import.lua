--- `sendpulse address-books import ID FILE.csv`: contacts from a CSV file
-- into a mailing list, with every rejected row reported by line.
-- @module sendpulse.cli.import
-- @local
local sendpulse = require "sendpulse"
local args = require "sendpulse.cli.args"
local csv = require "sendpulse.cli.csv"
local errors = require "sendpulse.cli.errors"
local progress = require "sendpulse.cli.progress"
local sys = require "sendpulse.cli.sys"
local util = require "sendpulse.cli.util"

local concat = table.concat
local format = string.format
local io_open = io.open
local ipairs = ipairs
local sort = table.sort
local tostring = tostring

local one_line = errors.one_line
local opt, param = args.opt, args.param
local plural = util.plural
local trim = util.trim
local usage = errors.usage

local _M = {}

local function say(...)
  sys.stderr:write(...)
end

-- The header row: column names, the email column's index.
local function read_header(records, name)
  local header, hline, hproblem = records()
  if not header or (#header == 1 and trim(header[1]) == "") then
    usage("%s: empty: a header row with an email column is expected", name)
  end
  if hproblem then
    usage("%s:%d: malformed header row: %s", name, hline, hproblem)
  end
  local columns, email_col, seen = {}, nil, {}
  for i, h in ipairs(header) do
    local col = trim(h)
    if col == "" then
      usage("%s:%d: column %d of the header has no name", name, hline, i)
    end
    if seen[col:lower()] then
      usage("%s:%d: column '%s' appears twice in the header", name, hline, col)
    end
    seen[col:lower()] = true
    columns[i] = col
    if col:lower() == "email" then
      email_col = i
    end
  end
  if not email_col then
    usage("%s:%d: no 'email' column in the header (%s)", name, hline, concat(columns, ", "))
  end
  return header, columns, email_col
end

-- Why a data row is rejected, or nil.
local function rejection(fields, problem, columns, email, seen)
  if problem then
    return problem
  elseif #fields ~= #columns then
    return format("%d fields where the header has %d", #fields, #columns)
  elseif email == "" then
    return "no email address"
  end
  local p = args.email_problem(email)
  if p then
    return format("not a valid email address '%s': %s", email, p)
  elseif seen[email:lower()] then
    return format("the same email address as line %d", seen[email:lower()])
  end
end

-- The data rows: contacts to send (with their rows), rejected rows, and
-- how many rows there were (blank lines left out).
local function read_rows(records, name, columns, email_col)
  local file = { contacts = {}, rows = {}, rejected = {}, total = 0 }
  local seen = {}
  for fields, line, problem in records do
    if not (#fields == 1 and trim(fields[1]) == "" and not problem) then   -- blank line
      file.total = file.total + 1
      local email = fields[email_col] and trim(fields[email_col]) or ""
      local reason = rejection(fields, problem, columns, email, seen)
      if reason then
        file.rejected[#file.rejected + 1] = { line = line, reason = reason, fields = fields }
        say(format("%s:%d: rejected: %s\n", name, line, one_line(reason)))
      else
        seen[email:lower()] = line
        local vars, any = {}, false
        for i, col in ipairs(columns) do
          if i ~= email_col and fields[i] ~= "" then
            vars[col] = fields[i]
            any = true
          end
        end
        file.contacts[#file.contacts + 1] = { email = email, variables = any and vars or nil }
        file.rows[#file.rows + 1] = { line = line, fields = fields }
      end
    end
  end
  return file
end

local function line_list(rows)
  local lines = {}
  for i, r in ipairs(rows) do
    lines[i] = r.line
  end
  return lines
end

-- "rejected 5 rows (lines 5-6, 8-10)"
local function rejected_summary(rejected)
  if #rejected == 0 then
    return "rejected 0 rows"
  end
  return format("rejected %s (line%s %s)", plural(#rejected, "row"),
                #rejected == 1 and "" or "s", util.ranges(line_list(rejected), 20))
end

local function rejected_report(rejected)
  local out = sendpulse.array()
  for i, r in ipairs(rejected) do
    out[i] = { line = r.line, reason = r.reason }
  end
  return out
end

-- Writes the header and rows to the --failed file.
local function write_failed(path, header, rows, sep)
  local f, err = io_open(path, "wb")
  if not f then
    say("sendpulse: --failed: cannot write ", one_line(err), "\n")
    return false
  end
  f:write(csv.record(header, sep))
  for _, r in ipairs(rows) do
    f:write(csv.record(r.fields, sep))
  end
  f:close()
  return true
end

-- After a failed request: what was not imported, on standard error and in
-- the --failed file.
local function report_failure(a, name, header, sep, file, failed_rows, err)
  local done = err.done or 0
  local missing = #failed_rows
  local maybe = err.maybe_processed and #err.maybe_processed or 0
  say(one_line(err), "\n")
  say(format("%s: not imported: %s (line%s %s)\n", name, plural(missing, "row"),
             missing == 1 and "" or "s", util.ranges(line_list(failed_rows), 20)))
  if maybe > 0 then
    say(format("%s: %s of them may have been processed all the same (no answer, or "
               .. "a server error): look before importing them again\n", name,
               plural(maybe, "row")))
  end
  if a.failed then
    local out = {}
    for i, r in ipairs(failed_rows) do
      out[i] = r
    end
    for _, r in ipairs(file.rejected) do
      out[#out + 1] = r
    end
    sort(out, function(x, y) return x.line < y.line end)
    if write_failed(a.failed, header, out, sep) then
      say(format("rows not imported written to %s\n", a.failed))
    end
  end
  say(format("imported %d of %d rows into mailing list %d, %d not imported, %s\n",
             done, file.total, a.id, missing, rejected_summary(file.rejected)))
end

-- The rows whose contacts the failed import did not add: the contacts of
-- err.not_done (chunks run several at once, so these need not be the last
-- rows), or every row when the import failed before its first chunk.
local function rows_not_done(file, err)
  local rows = {}
  if not err.not_done then
    for i, r in ipairs(file.rows) do
      rows[i] = r
    end
    return rows
  end
  local row_of = {}
  for i, contact in ipairs(file.contacts) do
    row_of[contact] = file.rows[i]
  end
  for _, contact in ipairs(err.not_done) do
    rows[#rows + 1] = row_of[contact]
  end
  return rows
end

-- The error as the report gives it.
local function error_report(err)
  return { kind = err.kind, code = err.code, status = err.status,
           message = one_line(err.message or tostring(err)) }
end

-- Rows rejected with nothing imported: exit status 4 (`--strict`, or no
-- valid row at all).
local function refuse(fmt, ...)
  errors.fail(errors.EXIT.rejected, fmt, ...)
end

--- Runs the command: returns the report, and the error when a request
-- failed (the report then says what was and was not imported).
function _M.run(c, a, ctx)
  local name = a.file == "-" and "(standard input)" or a.file
  local sep, why = csv.delimiter(a.delimiter or ",")
  if not sep then
    usage("--delimiter: %s", why)
  end
  local records = csv.records(util.read_file(a.file, "FILE"), sep)
  local header, columns, email_col = read_header(records, name)
  local file = read_rows(records, name, columns, email_col)
  if file.total == 0 then
    usage("%s: no contacts after the header row", name)
  end
  local rejected = file.rejected
  if a.strict and #rejected > 0 then
    refuse("%s: %s; nothing imported (--strict)", name, rejected_summary(rejected))
  end
  if #file.contacts == 0 then
    if a.failed and not a.dry_run then
      write_failed(a.failed, header, rejected, sep)
    end
    refuse("%s: no valid rows to import, %s", name, rejected_summary(rejected))
  end

  local add_emails = c.add_emails       -- creates the client (credentials) first
  local report, finish = progress.reporter(a.dry_run and "none" or a.progress or "auto",
                                           #file.contacts)
  report(0)
  local res, err = add_emails(c, a.id, file.contacts, { chunk = a.chunk,
                                                        concurrency = a.concurrency,
                                                        on_progress = report })
  finish()
  if a.dry_run then
    say(format("dry run: %d of %d rows would be imported into mailing list %d in %s, %s\n",
               #file.contacts, file.total, a.id, plural(#ctx:requests(), "request"),
               rejected_summary(rejected)))
    return { address_book_id = a.id, dry_run = true, rows = file.total,
             valid = #file.contacts, rejected = rejected_report(rejected),
             requests = ctx:requests() }
  end
  if not res then
    local failed_rows = rows_not_done(file, err)
    report_failure(a, name, header, sep, file, failed_rows, err)
    local not_imported = sendpulse.array()
    for i, r in ipairs(failed_rows) do
      not_imported[i] = r.line
    end
    return { address_book_id = a.id, rows = file.total, imported = err.done or 0,
             requests = err.chunks_done or 0, not_imported = not_imported,
             rejected = rejected_report(rejected), error = error_report(err) }, err, "reported"
  end
  if a.failed and #rejected > 0 and write_failed(a.failed, header, rejected, sep) then
    say(format("rejected rows written to %s\n", a.failed))
  end
  say(format("imported %d of %d rows into mailing list %d, %s\n",
             res.done, file.total, a.id, rejected_summary(rejected)))
  return { address_book_id = a.id, rows = file.total, imported = res.done,
           requests = res.chunks, rejected = rejected_report(rejected) }
end

--- The command's row.
_M.command = {
  "import",
  summary = "Imports contacts from a CSV file into a mailing list.",
  description = "The first row names the columns; one must be 'email' (in any case), "
    .. "every other column becomes a variable of the contact (empty cells are left "
    .. "out). Fields follow RFC 4180: a field in double quotes may hold the "
    .. "separator, line breaks, and quotes written twice (\"\"). A UTF-8 byte order "
    .. "mark is skipped.\n\n"
    .. "Rows with no valid email address, a wrong number of fields, broken quoting, "
    .. "or the address of an earlier row are rejected: each is reported on standard "
    .. "error as FILE:LINE: rejected: REASON, and the valid rows are imported, in "
    .. "requests of --chunk contacts. Progress goes to standard error: a bar redrawn "
    .. "in place on a terminal, 'imported N/M' lines otherwise; then a summary line. "
    .. "Standard output gets a JSON report: {address_book_id, rows, imported, "
    .. "requests, rejected = [{line, reason}]}.\n\n"
    .. "If a request fails, the rows not imported are listed by line number (and "
    .. "written to the --failed file), the report adds not_imported (their lines) and "
    .. "error, and the exit status is 1. Rejected rows alone do not change the exit "
    .. "status, unless --strict is given: then nothing is imported and the exit status "
    .. "is 4 (also when no row is valid).\n\n"
    .. "With --dry-run the file is checked and nothing is sent: the report has "
    .. "dry_run, valid (the rows that would be imported) and requests, the requests "
    .. "that would be made.",
  args = { param("ID", "id", "the mailing list's id"),
           param("FILE", "string", "the CSV file (- for standard input)") },
  options = {
    opt("chunk", "N", "positive", "contacts per request (default 1000)"),
    opt("concurrency", "N", "positive",
        "requests in flight at once (default: the rate limit's, 10)"),
    opt("delimiter", "C", "string", "the field separator (default ','; '\\t' for a tab)"),
    opt("progress", "MODE", "choice", "auto (the default), bar, lines or none",
        { choices = { "auto", "bar", "lines", "none" } }),
    opt("failed", "OUT.csv", "string", "write the rows rejected or not imported there, "
        .. "with the header, to fix and import again"),
    opt("strict", nil, nil, "import nothing if any row is rejected (exit status 4)"),
  },
  dry_run = "self",
  example = { "sendpulse address-books import 1000001 contacts.csv --chunk 500",
              "sendpulse address-books import 1000001 export.csv --delimiter ';' --dry-run" },
  run = _M.run,
}

return _M
