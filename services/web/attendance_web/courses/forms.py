"""The course page's forms, "Add a student" (StudentForm, also the student page's edit form) included: the
students views render the course page (courses.views.course_page), so courses must not import the students
package back."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import EmailField, SelectField, StringField
from wtforms.validators import DataRequired, Email, InputRequired, Length, Optional


class CourseForm(FlaskForm):
    name = StringField("Course name", validators=[DataRequired(), Length(max=120)])
    code = StringField("Code (optional)", validators=[Optional(), Length(max=40)])


class StudentForm(FlaskForm):
    name = StringField("Name", validators=[DataRequired(), Length(max=120)])
    student_number = StringField("Student number", validators=[DataRequired(), Length(max=40)])
    email = EmailField("Email (optional)", validators=[Optional(), Email(check_deliverability=False), Length(max=254)])


class DeleteForm(FlaskForm):
    """A form with only the CSRF token, for buttons that change something."""


class TeacherChoiceForm(FlaskForm):
    """A teacher of the course's school, for sharing and transferring; the choices are set by the view."""

    teacher_id = SelectField("Teacher", coerce=int, validators=[InputRequired("Choose a teacher.")])
