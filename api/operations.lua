-- Decisions about the operations that the specs do not make for us, read
-- by tools/gen-api (hand-kept; the facts are in api/openapi/*.json).
return {
  -- Operations whose operationId another operation of the same service
  -- also uses: the method name of each ("VERB /path" -> name).
  rename = {
    crm = {
      -- the deprecated predecessor of POST /crm/v1/contacts/create
      ["POST /crm/v1/contacts"] = "create_contact_deprecated",
      -- a contact's own attribute values (the other one lists attributes)
      ["GET /crm/v1/contacts/{contactId}/attributes"] = "get_contact_attribute_values",
      -- POST adds sections (answers 201), PUT replaces them
      ["POST /crm/v1/products/{productId}/sections"] = "create_product_sections",
    },
  },

  -- The operations of the areas the client already had methods for,
  -- which the specs added later: flat client methods, named like the
  -- hand-written ones of the same area (operationId -> method).
  flat = {
    email = {
      getTags = "email_tags",
      createTag = "create_email_tag",
      updateTag = "update_email_tag",
      deleteTag = "delete_email_tag",
      pinTagToEmail = "pin_tag_to_email",
      pinTagToPhone = "pin_tag_to_phone",
      unpinTagFromEmail = "unpin_tag_from_email",
      unpinTagFromPhone = "unpin_tag_from_phone",
      getTemplateBySlug = "template_by_slug",
      updateContactPhone = "update_address_book_phone",
    },
    smtp = {
      getSmtpEmailsBatchInfo = "smtp_emails_info",
      searchSmtpUnsubscribe = "smtp_search_unsubscribed",
      resubscribeSmtpRecipient = "smtp_resubscribe",
      getSmtpAllowedDomains = "smtp_sender_domains",
      addSmtpDomain = "smtp_add_sender_domain",
    },
    verifier = {
      downloadVerificationReport = "download_verification_report",
    },
    viber = {
      getViberBlacklist = "viber_phone_exceptions",
      addViberBlacklist = "add_viber_phone_exceptions",
      removeViberBlacklist = "remove_viber_phone_exceptions",
    },
    automation = {
      getAutomationFlows = "automation_flows",
      getElementTotalStats = "automation_flow_total_stats",
      deleteLogs = "delete_automation_event_logs",
    },
  },

  -- `PUT /addressbooks/{id}/phone` is in the email and the SMS specs; the
  -- flat method is built from the email spec's row (the two agree).
  flat_skip = { sms = { updateContactPhone = true } },

  -- Paged lists: an iterator `each` walks them. `style`: "query" or
  -- "body" (where the two keys go); `limit`/`offset`: the keys (limit
  -- false: the server picks the page size); `list`: where the page's items
  -- are in the response ("" for the response itself); `total`: where the
  -- number of all items is, when the response says it; `page_max`: the
  -- largest page the operation takes.
  paging = {
    automation = {
      getAutomationFlows = { each = "each_automation_flow", style = "query",
        limit = "limit", offset = "offset", list = "data" },
    },
    chatbots = {
      getDialogs = { each = "each_dialog", style = "query", limit = "size",
        offset = "skip", list = "data.list", total = "data.total" },
    },
    courses = {
      getStudentsAuditory = { each = "each_auditory_student", style = "body",
        limit = "limit", offset = "offset", list = "data", total = "meta.total" },
      getStudentsByCourse = { each = "each_course_student", style = "body",
        limit = "limit", offset = "offset", list = "data" },
    },
    crm = {
      getDealsList = { each = "each_deal", style = "body", limit = "limit",
        offset = "offset", list = "data", total = "meta.total" },
      getContactsList = { each = "each_contact", style = "body", limit = "limit",
        offset = "offset", list = "data.list", total = "data.total" },
      getCompaniesShortData = { each = "each_company_short_data", style = "body",
        limit = "limit", offset = "offset", list = "data", total = "metadata.total" },
      getCompaniesList = { each = "each_company", style = "body", limit = "limit",
        offset = "offset", list = "data", total = "metadata.total" },
      getCompanyHistory = { each = "each_company_history_event", style = "query",
        limit = "limit", offset = "offset", list = "data", total = "metadata.total" },
      getProductsByFilter = { each = "each_product", style = "body", limit = "limit",
        offset = "offset", list = "data" },
    },
    popups = {
      listWidgets = { each = "each_widget", style = "query", limit = false,
        offset = "offset", list = "data", total = "pageInfo.total" },
      listPopupsByProjectId = { each = "each_popup", style = "query", limit = false,
        offset = "offset", list = "data", total = "pageInfo.total" },
      listQuizPopupsByProject = { each = "each_quiz_popup", style = "query",
        limit = false, offset = "offset", list = "data", total = "pageInfo.total" },
    },
  },

  -- The seven chatbot channels page their lists with size/skip; the
  -- iterator of each list, by path below the channel's base path (only
  -- where the channel's spec has the two parameters).
  channel_paging = {
    ["GET /contacts/getByTag"] = "each_contact_by_tag",
    ["GET /contacts/getByVariable"] = "each_contact_by_variable",
    ["GET /flows"] = "each_flow",
    ["GET /triggers"] = "each_trigger",
    ["GET /bots"] = "each_bot",
    ["GET /chats"] = "each_chat",
    ["GET /chats/messages"] = "each_chat_message",
    ["GET /variables"] = "each_variable",
    ["GET /tags"] = "each_tag",
  },
}
