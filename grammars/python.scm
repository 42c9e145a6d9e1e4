; cseek chunk query for Python.
;
; Captures follow the convention in the module docs of src/chunk/mod.rs.

(function_definition name: (identifier) @name) @definition.function

(class_definition name: (identifier) @name) @definition.class

; Decorators belong to the definition they decorate.
(decorated_definition
  definition: (function_definition name: (identifier) @name)) @definition.function

(decorated_definition
  definition: (class_definition name: (identifier) @name)) @definition.class

; A module-level assignment to a plain name is a variable: Flask's `g: _AppCtxGlobals =
; LocalProxy(…)`. Class attributes and locals are not, nor module metadata (`__all__`).
; The chunker keeps one-line bindings with the code around them.
(module
  (expression_statement
    (assignment left: (identifier) @name)
    (#not-match? @name "^__.*__$")) @definition.variable)
