; cseek chunk query for R.
;
; Captures follow the convention in the module docs of src/chunk/mod.rs.
; A function is a value: `name <- function(…)` (or `=`, `<<-`) defines one, and so
; does `name = function(…)` as an argument (the methods of an R6 class's `public =
; list(…)`). Classes come from calls: `Name <- R6Class("Name", …)`, `setRefClass`,
; `setClass("Name", …)`; S4 generics and methods from `setGeneric("name", …)` and
; `setMethod("name", …)`.

(binary_operator lhs: (identifier) @name rhs: (function_definition)) @definition.function
(argument name: (identifier) @name value: (function_definition)) @definition.function

(binary_operator
  lhs: (identifier) @name
  rhs: (call function: [(identifier) @_f (namespace_operator rhs: (identifier) @_f)])
  (#any-of? @_f "R6Class" "setRefClass" "setClass")) @definition.class
(program
  (call
    function: (identifier) @_f
    arguments: (arguments . (argument value: (string (string_content) @name)))
    (#any-of? @_f "setClass" "setRefClass")) @definition.class)
(program
  (call
    function: (identifier) @_f
    arguments: (arguments . (argument value: (string (string_content) @name)))
    (#any-of? @_f "setGeneric" "setMethod" "setValidity" "setReplaceMethod")) @definition.function)
