#version 330
// Lines in world space: the mesh's edges (the wireframe; the head turned by the view's edit about the neck
// pivot, exactly as in mesh_view.vert) and the camera frusta (in_head 0: where they are).
uniform mat4 u_view_proj;
uniform mat3 u_edit;     // R_edit
uniform vec3 u_pivot;    // neck pivot
in vec3 in_pos;
in float in_head;
void main() {
    vec3 turned = u_edit * (in_pos - u_pivot) + u_pivot;
    vec3 p = mix(in_pos, turned, in_head);
    gl_Position = u_view_proj * vec4(p, 1.0);
}
