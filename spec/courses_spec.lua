-- client.courses against the sandbox: the seeded courses and tariffs,
-- students created on a course, listed by course (paged, filtered),
-- marked paid, taken off a course, deleted (then 404); what the client
-- refuses before sending and the sandbox when sent.
local sandbox = require "support.sandbox"

describe("courses #sandbox", function()
  local client, courses

  before_each(function()
    client = sandbox.fresh_client{ max_retries = 0 }
    courses = client.courses
  end)

  after_each(function()
    client:close()
  end)

  -- the body's limit and offset are required
  local function by_course(args)
    args.limit, args.offset = args.limit or 20, args.offset or 0
    return courses:get_students_by_course(args)
  end

  local function names(list)
    local out = {}
    for i, s in ipairs(list) do
      out[i] = s.firstName
    end
    return out
  end

  it("lists courses and tariffs, and a course's students as they come and go", function()
    local list = assert(courses:get_courses()).data
    assert.equal(2, #list)
    assert.equal("Hobbit cooking", list[1].name)
    assert.equal(0, list[1].studentCount)
    local tariffs = assert(courses:get_course_tariffs{ courseId = 501 }).data
    assert.equal(2, #tariffs)
    assert.is_true(tariffs[2].isPaid)

    local ids = {}
    for i, name in ipairs{ "Frodo", "Sam", "Pippin" } do
      local s = assert(courses:create_student{ courseId = 501,
                                               email = name:lower() .. "@shire.example",
                                               firstName = name, lastName = "Hobbit" })
      assert.equal(201, sandbox.last().status)
      assert.is_number(s.id)
      assert.equal(name, s.firstName)
      ids[i] = s.id
    end
    local elf = assert(courses:create_student{ courseId = 502, courseTariffId = 603,
                                               email = "legolas@wood.example",
                                               firstName = "Legolas" }).id

    assert.same({ "Frodo", "Sam", "Pippin" },
                names(assert(by_course{ courseId = 501 }).data))
    assert.same({ "Sam" }, names(assert(by_course{ courseId = 501,
                                                                         limit = 1,
                                                                         offset = 1 }).data))
    assert.same({ "Pippin" }, names(assert(by_course{
      courseId = 501, email = "pippin" }).data))
    assert.equal(3, assert(courses:get_courses()).data[1].studentCount)
    assert.equal(4, assert(courses:get_students_auditory{ limit = 20, offset = 0 }).meta.total)

    assert(courses:mark_students_as_paid{ courseId = 501, ids = { ids[2] } })
    assert.same({ "Sam" }, names(assert(by_course{ courseId = 501,
                                                                         isPaid = true }).data))

    assert.is_true(courses:remove_student_from_course{ studentId = ids[1], courseId = 501 })
    assert.same({ "Sam", "Pippin" },
                names(assert(by_course{ courseId = 501 }).data))
    assert(courses:get_student_course_statistics{ studentId = elf })
    assert.is_true(courses:delete_student{ studentId = elf })
    local res, err = courses:get_student_course_statistics{ studentId = elf }
    assert.is_nil(res)
    assert.equal(404, err.status)
    res, err = courses:delete_student{ studentId = elf }
    assert.is_nil(res)
    assert.equal(404, err.status)
    assert.same({}, assert(by_course{ courseId = 502 }).data)
  end)

  it("refuses unknown courses and tariffs", function()
    local res, err = courses:create_student{ courseId = 999, email = "x@y.example" }
    assert.is_nil(res)
    assert.equal(404, err.status)
    res, err = courses:create_student{ courseId = 501, courseTariffId = 603, email = "x@y.example" }
    assert.is_nil(res)
    assert.equal(422, err.status)
    assert.matches("courseTariffId: no tariff 603 in course 501", err.message, 1, true)
    res, err = by_course{ courseId = 999 }
    assert.is_nil(res)
    assert.equal(404, err.status)
  end)

  it("refuses a bad argument before sending; the sandbox refuses it when sent", function()
    sandbox.bad_argument("args.courseId", function()
      courses:get_students_by_course{ limit = 10, offset = 0 }
    end, true)
    sandbox.bad_argument("args.courseStatus[1]", function()
      by_course{ courseId = 501, courseStatus = { "asleep" } }
    end)
    local res, err = client:request("POST", "/edu/public/v1/students/by-course/cooking", nil, {})
    assert.is_nil(res)
    assert.equal(400, err.status)
    res, err = client:request("POST", "/edu/public/v1/students/by-course/501", nil,
                              { limit = 10, offset = 0, courseStatus = { "asleep" } })
    assert.is_nil(res)
    assert.equal(422, err.status)
    assert.matches("courseStatus[1]: one of", err.message, 1, true)
  end)
end)
