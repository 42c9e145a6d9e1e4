; cseek chunk query for Go.
;
; Captures follow the convention in the module docs of src/chunk/mod.rs.

(function_declaration name: (identifier) @name) @definition.function

; Methods are top-level in Go: the receiver type is their container.
(method_declaration
  receiver: (parameter_list
    (parameter_declaration
      type: [
        (type_identifier) @container
        (pointer_type (type_identifier) @container)
        (generic_type type: (type_identifier) @container)
        (pointer_type (generic_type type: (type_identifier) @container))
      ]))
  name: (field_identifier) @name) @definition.method
(method_declaration name: (field_identifier) @name) @definition.method

(type_declaration (type_spec name: (type_identifier) @name type: (struct_type))) @definition.struct
(type_declaration (type_spec name: (type_identifier) @name type: (interface_type))) @definition.interface
(type_declaration (type_spec name: (type_identifier) @name)) @definition.type
(type_declaration (type_alias name: (type_identifier) @name)) @definition.type

; A package-level `var x = …` or `const x = …` of one name is a variable; a parenthesised
; block (`const ( A = iota … )`) reads as one unit and stays with the code around it.
(source_file
  (var_declaration (var_spec name: (identifier) @name)) @definition.variable)
(source_file
  (const_declaration . (const_spec name: (identifier) @name) .) @definition.variable)
