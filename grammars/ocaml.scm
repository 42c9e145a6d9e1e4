; cseek chunk query for OCaml (implementations, `.ml`).
;
; Captures follow the convention in the module docs of src/chunk/mod.rs.
; `let` binds functions and values alike: a binding with parameters or a `fun` /
; `function` body is a function, a top-level one without is a variable. Bindings joined
; by `and` (`let rec parse … and parse_list …`) stay one definition, named by the first.

(value_definition (let_binding pattern: (value_name) @name (parameter))) @definition.function
(value_definition
  (let_binding pattern: (value_name) @name body: [(fun_expression) (function_expression)])) @definition.function
(compilation_unit (value_definition (let_binding pattern: (value_name) @name)) @definition.variable)
(structure (value_definition (let_binding pattern: (value_name) @name)) @definition.variable)

(type_definition (type_binding name: (type_constructor) @name)) @definition.type
(exception_definition (constructor_declaration (constructor_name) @name)) @definition.type
(external (value_name) @name) @definition.function

(module_definition (module_binding (module_name) @name)) @definition.module
(module_type_definition (module_type_name) @name) @definition.interface
(class_definition (class_binding (class_name) @name)) @definition.class
(class_type_definition (class_type_binding (class_type_name) @name)) @definition.interface
(method_definition (method_name) @name) @definition.method
