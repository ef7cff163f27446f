-- Courses (client.courses, SendPulse's online-course service) on top of
-- the generated layer (sandbox.generic routes and checks all 12
-- operations).
--
-- Courses are built in the editor, so every reset seeds two: 501
-- "Hobbit cooking" (a free and a paid tariff, 601 and 602) and 502
-- "Elvish for beginners" (tariff 603). POST /students creates a student
-- (an integer id) and, with courseId, enrols them (on courseTariffId, or
-- the course's first tariff); an unknown course or tariff is refused
-- (404, 422). POST /students/by-course/{courseId} lists a course's
-- students (limit/offset, filters email, firstName, lastName, isPaid);
-- POST /students/auditory all students; mark-as-paid sets isPaid on
-- enrolments; DELETE /students/{id}/{courseId} takes a student off a
-- course, DELETE /students/{id} deletes them (then their statistics are
-- 404). A course's studentCount follows its enrolments.

local type = type
local pairs = pairs
local ipairs = ipairs
local tostring = tostring
local str_find = string.find
local str_lower = string.lower

local store = require "sandbox.store"
local shape = require "sandbox.shape"
local util = require "sandbox.util"

local _M = {}

_M.service = "courses"

local COURSES = "/edu/public/v1/courses"
local STUDENTS = "/edu/public/v1/students"

local function tariffs(course_id)
    return COURSES .. "/" .. tostring(course_id) .. "/tariffs"
end

local SEED = {
    { id = 501, name = "Hobbit cooking", slug = "hobbit-cooking",
      tariffs = { { id = 601, name = "Free", isPaid = false, isMain = true },
                  { id = 602, name = "Second breakfast", isPaid = true, isMain = false } } },
    { id = 502, name = "Elvish for beginners", slug = "elvish",
      tariffs = { { id = 603, name = "Standard", isPaid = true, isMain = true } } },
}

function _M.reset()
    for _, c in ipairs(SEED) do
        store.put(COURSES, { id = c.id, name = c.name, slug = c.slug, status = "published",
                             createdAt = shape.now(), studentCount = 0,
                             hasPaidTariffs = true })
        for _, t in ipairs(c.tariffs) do
            store.put(tariffs(c.id), { id = t.id, name = t.name, isPaid = t.isPaid,
                                       isMain = t.isMain, courseId = c.id,
                                       countOfStudents = 0 })
        end
    end
end

_M.reset()

local function count(course_id)
    local n = 0
    for _, s in ipairs(store.list(STUDENTS)) do
        if s.courses[course_id] then
            n = n + 1
        end
    end
    local course = store.get(COURSES, course_id)
    if course then
        course.studentCount = n
    end
end

local function matches(text, part)
    return part == nil or (type(text) == "string"
                           and str_find(str_lower(text), str_lower(part), 1, true) ~= nil)
end

-- a student as a course lists them
local function on_course(s, course_id)
    local e = s.courses[course_id]
    local out = {}
    for k, v in pairs(s) do
        if k ~= "courses" then
            out[k] = v
        end
    end
    if e then
        out.studentTariff = { id = e.tariffId, courseId = course_id }
        out.studentDateRegistrationOnCourse = e.since
        out.isPaid = e.isPaid
    end
    return out
end

local function students(ctx, course_id)
    local a = ctx.args
    local list = {}
    for _, s in ipairs(store.list(STUDENTS)) do
        local e = course_id == nil or s.courses[course_id]
        if e and matches(s.email, a.email) and matches(s.firstName, a.firstName)
           and matches(s.lastName, a.lastName)
           and (a.isPaid == nil or course_id == nil or e.isPaid == a.isPaid) then
            list[#list + 1] = course_id and on_course(s, course_id) or on_course(s, nil)
        end
    end
    local page, total = ctx:page(list)
    return ctx:list(page, total)
end

local function with_course(fn)
    return function(ctx)
        if not store.get(COURSES, ctx.args.courseId) then
            return ctx:not_found("course", ctx.args.courseId)
        end
        return fn(ctx)
    end
end

_M.ops = {
    get_course_tariffs = with_course(function(ctx)
        return ctx:list(store.list(tariffs(ctx.args.courseId)))
    end),
    list_groups_by_course = with_course(function(ctx)
        return ctx:ok()
    end),
    create_student = function(ctx)
        local a = ctx.args
        local enrol
        if a.courseId ~= nil then
            if not store.get(COURSES, a.courseId) then
                return ctx:not_found("course", a.courseId)
            end
            local list = store.list(tariffs(a.courseId))
            local tariff = a.courseTariffId and store.get(tariffs(a.courseId), a.courseTariffId)
                           or (a.courseTariffId == nil and list[1])
            if not tariff then
                return ctx:invalid("courseTariffId", "no tariff " .. tostring(a.courseTariffId)
                                   .. " in course " .. tostring(a.courseId))
            end
            enrol = { tariffId = tariff.id, since = shape.now(), isPaid = false }
        end
        local s = store.put(STUDENTS, {
            id = store.new_id("courses"), email = a.email, firstName = a.firstName,
            lastName = a.lastName, language = a.language or "en", status = "active",
            uuid = shape.sample({ t = "string", f = "uuid" }), courses = {},
        })
        if enrol then
            s.courses[a.courseId] = enrol
            count(a.courseId)
        end
        return ctx:item(on_course(s, nil))
    end,
    get_students_by_course = with_course(function(ctx)
        return students(ctx, ctx.args.courseId)
    end),
    get_students_auditory = function(ctx)
        return students(ctx, ctx.args.courseId)
    end,
    mark_students_as_paid = with_course(function(ctx)
        for _, id in ipairs(ctx.args.ids or {}) do
            local s = store.get(STUDENTS, id)
            local e = s and s.courses[ctx.args.courseId]
            if e then
                e.isPaid = true
            end
        end
        return ctx:ok()
    end),
    remove_student_from_course = function(ctx)
        local s = store.get(STUDENTS, ctx.args.studentId)
        if not s or not s.courses[ctx.args.courseId] then
            return ctx:not_found("student on course", tostring(ctx.args.studentId) .. "/"
                                 .. tostring(ctx.args.courseId))
        end
        s.courses[ctx.args.courseId] = nil
        count(ctx.args.courseId)
        return ctx:ok()
    end,
    delete_student = function(ctx)
        local s = store.remove(STUDENTS, ctx.args.studentId)
        if not s then
            return ctx:not_found("student", ctx.args.studentId)
        end
        for course_id in pairs(s.courses) do
            count(course_id)
        end
        return ctx:ok()
    end,
    get_student_course_statistics = function(ctx)
        local s = store.get(STUDENTS, ctx.args.studentId)
        if not s then
            return ctx:not_found("student", ctx.args.studentId)
        end
        local list = util.array()
        for course_id, e in pairs(s.courses) do
            list[#list + 1] = { courseId = course_id, isPaid = e.isPaid }
        end
        return ctx:list(list)
    end,
}

return _M
